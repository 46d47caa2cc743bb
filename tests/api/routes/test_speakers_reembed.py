"""POST /v1/speakers/reembed: kept enrollment recordings re-embedded by a job after a speaker
model change, on SQLite and PostgreSQL, with a real Huey consumer beside the app."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.api.audio import speaker_halves
from tests.api.conftest import Api, make_settings, open_api
from tests.databases import BACKENDS, database_url
from tests.doubles import SpectralTestEngine, UpgradedSpectralEngine
from tests.jobs import consuming
from voxguard.config import Settings
from voxguard.services.engines import Loaded
from voxguard.services.job_queue import JobQueue

serving = contextmanager(open_api)


@pytest.fixture(params=BACKENDS)
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    with database_url(request.param, tmp_path) as url:
        yield make_settings(tmp_path, url, keep_enrollment_audio=True)


def _enroll(api: Api, name: str, data: bytes) -> dict[str, Any]:
    response = api.client.post(
        "/v1/speakers",
        data={"name": name},
        files=[("files", (f"{name}.wav", data, "audio/wav"))],
        headers=api.headers("operator"),
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _stale(api: Api) -> list[str]:
    page = api.client.get("/v1/speakers?stale=true", headers=api.headers("reader")).json()
    return [s["display_name"] for s in page["items"]]


def _kept_files(settings: Settings) -> list[Path]:
    return [p for p in (settings.speaker_samples_dir / "blobs").glob("*/*") if p.is_file()]


def test_reembed_after_a_model_change(settings: Settings) -> None:
    alice_a, alice_b = speaker_halves(0)
    old = Loaded(SpectralTestEngine())
    off = settings.model_copy(update={"keep_enrollment_audio": False})
    with serving(off, speaker=old) as api:
        assert _enroll(api, "Bob", speaker_halves(1)[0])["recordings_kept"] == 0
    with serving(settings, speaker=old) as api:
        alice = _enroll(api, "Alice", alice_a)
        assert alice["recordings_kept"] == 1
    alice_id = alice["speaker"]["id"]
    assert len(_kept_files(settings)) == 1

    with serving(settings, speaker=Loaded(UpgradedSpectralEngine())) as api:
        assert _stale(api) == ["Bob", "Alice"]
        assert api.client.post("/v1/speakers/reembed").status_code == 401
        for role in ("reader", "operator"):
            refused = api.client.post("/v1/speakers/reembed", headers=api.headers(role))
            assert refused.status_code == 403, role
        response = api.client.post("/v1/speakers/reembed", headers=api.headers())
        assert response.status_code == 202, response.text
        job = response.json()
        assert response.headers["location"] == f"/v1/jobs/{job['id']}"
        assert (job["kind"], job["status"], job["progress"]["total"]) == ("reembed", "queued", 2)
        busy = api.client.post("/v1/speakers/reembed", headers=api.headers())
        assert busy.status_code == 409 and busy.json()["detail"]["job_id"] == job["id"]

        queue: JobQueue = api.client.app.state.jobs  # type: ignore[attr-defined]
        with consuming(api.runtime, queue):
            done = api.finished_job(job["id"], timeout_s=60)
        assert done["status"] == "succeeded", done["error"]
        summary = done["summary"]
        assert summary["reembedded_speakers"] == [{"id": alice_id, "name": "Alice"}]
        assert [s["name"] for s in summary["must_reenroll_speakers"]] == ["Bob"]
        assert _stale(api) == ["Bob"]

        identified = api.client.post(
            "/v1/identify",
            files={"file": ("probe.wav", alice_b, "audio/wav")},
            headers=api.headers("operator"),
        ).json()
        assert identified["best"]["speaker_id"] == alice_id

        listed = api.client.get("/v1/jobs?kind=reembed", headers=api.headers("reader")).json()
        assert [j["id"] for j in listed["items"]] == [job["id"]]
        results = api.client.get(f"/v1/jobs/{job['id']}/results", headers=api.headers())
        assert results.status_code == 422 and "summary lists" in results.json()["error"]
        audit = api.client.get(f"/v1/audit?entity_id={job['id']}", headers=api.headers()).json()
        assert audit[0]["action"] == "create" and audit[0]["actor"].startswith("key:admin")
        assert audit[0]["detail"]["kind"] == "reembed"
        trail = api.client.get(f"/v1/audit?entity_id={alice_id}", headers=api.headers()).json()
        assert trail[0]["action"] == "reembed" and trail[0]["detail"]["job_id"] == job["id"]

        deleted = api.client.delete(f"/v1/speakers/{alice_id}", headers=api.headers())
        assert deleted.status_code == 204
        assert _kept_files(settings) == []
