"""Prometheus metrics per endpoint and per pipeline stage, as ``/metrics`` shows them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.audio import speaker_halves
from tests.api.conftest import Api, make_settings, open_api
from tests.databases import BACKENDS, database_url
from tests.doubles import FixedSpoofDetector
from voxguard.services.engines import Loaded, SpoofAdapter

CHECK_STAGES = ("decode", "vad", "embed", "search", "spoof", "behavior", "risk", "database")


@pytest.fixture(params=BACKENDS)
def api(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Api]:
    with database_url(request.param, tmp_path) as url:
        spoof = Loaded(SpoofAdapter(FixedSpoofDetector(0.1)))
        yield from open_api(make_settings(tmp_path, url), spoof=spoof)


def _stage(text: str, stage: str, route: str, suffix: str) -> float | None:
    labels = f'route="{re.escape(route)}",stage="{stage}"'
    pattern = rf"^voxguard_stage_seconds_{suffix}\{{{labels}\}} (\S+)$"
    found = re.search(pattern, text, re.MULTILINE)
    return float(found.group(1)) if found else None


def test_a_check_reports_every_stage_once(api: Api) -> None:
    enrollment, probe = speaker_halves(0)
    enrolled = api.client.post(
        "/v1/speakers",
        data={"name": "Alice"},
        files=[("files", ("a.wav", enrollment, "audio/wav"))],
        headers=api.headers(),
    )
    assert enrolled.status_code == 201
    check = api.client.post(
        "/v1/check", files={"file": ("b.wav", probe, "audio/wav")}, headers=api.headers()
    )
    assert check.status_code == 200 and check.json()["recognized"]

    text = api.client.get("/metrics", headers=api.headers("reader")).text
    for stage in CHECK_STAGES:
        assert _stage(text, stage, "/v1/check", "count") == 1.0, stage
        spent = _stage(text, stage, "/v1/check", "sum")
        assert spent is not None and spent > 0, stage
    for stage in ("decode", "vad", "embed", "behavior", "database"):
        assert _stage(text, stage, "/v1/speakers", "count") == 1.0, stage
    # Per endpoint, as before.
    assert 'voxguard_http_requests_total{method="POST",route="/v1/check",status="200"} 1.0' in text
    assert 'voxguard_checks_total{level="LOW",verdict=' in text


def test_a_refused_upload_still_counts_its_decode(api: Api) -> None:
    refused = api.client.post(
        "/v1/check", files={"file": ("x.wav", b"not audio", "audio/wav")}, headers=api.headers()
    )
    assert refused.status_code in (415, 422)
    text = api.client.get("/metrics", headers=api.headers("reader")).text
    assert _stage(text, "decode", "/v1/check", "count") == 1.0
    assert _stage(text, "embed", "/v1/check", "count") is None
