"""The hostile corpus (tests/hostile) against every upload endpoint.

Each file is refused with a 4xx and the error JSON naming a code the corpus expects for it,
within a generous time and memory bound per request, and nothing stored changes. Every
audio file goes to every audio endpoint; every archive goes to the dataset upload; every file
goes to the job uploads. A job takes files by name and decodes them in the worker, so a file
may be accepted there (202): its job must then end with that file failed for an expected
reason, and nothing else stored.
"""

from __future__ import annotations

import json
import resource
import time
import tracemalloc
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from tests.api.audio import speaker_halves, wav
from tests.api.conftest import Api, make_settings, open_api
from tests.databases import database_url
from tests.hostile.corpus import archives, audio_files
from tests.hostile.kinds import Hostile, tone
from tests.jobs import consuming, wait_for
from voxguard.services.job_queue import JobQueue
from voxguard.store.models import (
    Alert,
    AuditEntry,
    CheckEvent,
    Dataset,
    DatasetBlob,
    DatasetItem,
    Job,
    Speaker,
    VoiceprintRow,
)

# Bounds that catch a hang or a blow-up, not a slow machine. A request that never ends is
# stopped by the timeout; one that ends is held to BUDGET_S.
pytestmark = pytest.mark.timeout(300)
BUDGET_S = 60.0
PYTHON_PEAK_BYTES = 256 << 20  # numpy and Python allocations during one request
RSS_GROWTH_BYTES = 512 << 20  # the process's peak resident memory, native code included

AUDIO = {h.id: h for h in audio_files()}
ARCHIVES = {h.id: h for h in archives()}
ENDPOINTS = [
    "identify", "verify", "detect", "detect_batch", "enroll", "samples", "analyze", "dataset",
]  # fmt: skip
COMPANION = "companion.wav"  # a dataset needs both labels: the hostile file is read first


@pytest.fixture(scope="module")
def hostile_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    tmp: Path = tmp_path_factory.mktemp("hostile")
    with database_url("sqlite", tmp) as url:
        # Several hundred requests on one key within a minute: no rate limit in the way.
        settings = make_settings(
            tmp,
            url,
            max_request_mb=8.0,
            max_archive_mb=256.0,
            max_job_files=20,
            rate_limit_per_minute=100_000,
            rate_limit_burst=10_000,
        )
        yield from open_api(settings)


@pytest.fixture(scope="module")
def speaker_id(hostile_api: Api) -> str:
    """An enrolled speaker, so that verify and add-samples reach the upload (needs the shared
    LibriSpeech excerpts; those two endpoints are skipped without them)."""
    good, _ = speaker_halves(0)
    response = hostile_api.client.post(
        "/v1/speakers",
        data={"name": "Alice"},
        files=[("files", ("alice.wav", good, "audio/wav"))],
        headers=hostile_api.headers(),
    )
    assert response.status_code == 201, response.text
    return str(response.json()["speaker"]["id"])


STORED = (Speaker, VoiceprintRow, CheckEvent, Alert, Dataset, DatasetItem, DatasetBlob)


def _rows(api: Api, *models: type) -> dict[str, int]:
    with api.runtime.store.sessions() as session:
        return {
            m.__name__: session.scalar(select(func.count()).select_from(m)) or 0 for m in models
        }


def _snapshot(api: Api) -> tuple[Any, ...]:
    """Rows of every table an upload could write, each speaker's enrollment count, and the
    files under the data folder (the database's own files left out)."""
    with api.runtime.store.sessions() as session:
        enrolled = tuple(session.scalars(select(Speaker.enrollment_count)).all())
    data_dir = api.runtime.settings.data_dir
    files = sorted(str(p.relative_to(data_dir)) for p in data_dir.rglob("*") if p.is_file())
    files = [f for f in files if not f.endswith((".db", "-journal", "-wal", "-shm"))]
    return _rows(api, *STORED, AuditEntry, Job), enrolled, files


def _measured(send: Callable[[], httpx.Response]) -> httpx.Response:
    """``send``, bounded in time and memory."""
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    tracemalloc.start()
    started = time.monotonic()
    try:
        response = send()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    elapsed = time.monotonic() - started
    rss_growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - rss_before
    assert elapsed < BUDGET_S, f"{elapsed:.0f} s"
    assert peak < PYTHON_PEAK_BYTES, f"Python peak {peak / 2**20:.0f} MiB"
    assert rss_growth < RSS_GROWTH_BYTES, f"peak RSS grew {rss_growth / 2**20:.0f} MiB"
    return response


def _assert_refused(response: httpx.Response, hostile: Hostile) -> dict[str, Any]:
    assert 400 <= response.status_code < 500, (hostile.id, response.status_code, response.text)
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    assert set(body) == {"error", "detail", "code"}, body
    assert body["code"] in hostile.expect, (hostile.id, body)
    assert isinstance(body["error"], str) and body["error"]
    return body


BOUNDARY = "hostile-7f3a9c"


def _multipart(
    files: list[tuple[str, str, bytes]], fields: dict[str, list[str]] | None = None
) -> tuple[bytes, dict[str, str]]:
    """A multipart body written by hand, as a hostile client would: file names go out raw
    (UTF-8, control characters and all; only quote, CR and LF escaped as browsers do), where
    httpx would percent-encode them."""
    out = bytearray()
    for name, values in (fields or {}).items():
        for value in values:
            out += f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            out += value.encode() + b"\r\n"
    for field, filename, data in files:
        quoted = filename.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")
        out += (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{field}"; '
            f'filename="{quoted}"\r\nContent-Type: application/octet-stream\r\n\r\n'
        ).encode()
        out += data + b"\r\n"
    out += f"--{BOUNDARY}--\r\n".encode()
    return bytes(out), {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}


def _send(
    api: Api,
    path: str,
    files: list[tuple[str, str, bytes]],
    fields: dict[str, list[str]] | None = None,
    role: str = "operator",
) -> httpx.Response:
    body, headers = _multipart(files, fields)
    response: httpx.Response = api.client.post(
        path, content=body, headers={**api.headers(role), **headers}
    )
    return response


def _post(api: Api, endpoint: str, hostile: Hostile, speaker: str = "") -> httpx.Response:
    upload = (hostile.filename, hostile.data)
    if endpoint == "verify":
        return _send(api, "/v1/verify", [("file", *upload)], {"speaker_id": [speaker]})
    if endpoint == "enroll":
        return _send(api, "/v1/speakers", [("files", *upload)], {"name": ["Mallory"]})
    if endpoint == "samples":
        return _send(api, f"/v1/speakers/{speaker}/samples", [("files", *upload)])
    if endpoint == "detect_batch":
        return _send(api, "/v1/detect/batch", [("files", *upload)])
    if endpoint == "dataset":
        companion = ("files", COMPANION, wav(tone(1.0, 16000)[:, 0]))
        labels = {"labels": ["spoof", "bonafide"]}
        return _send(api, "/v1/datasets", [("files", *upload), companion], labels)
    if endpoint in ("jobs/detect", "jobs/analyze", "datasets"):
        return _send(api, f"/v1/{endpoint}", [("files", *upload)])
    return _send(api, f"/v1/{endpoint}", [("file", *upload)])


def _refused_and_nothing_stored(
    api: Api, hostile: Hostile, send: Callable[[], httpx.Response]
) -> dict[str, Any]:
    before = _snapshot(api)
    body = _assert_refused(_measured(send), hostile)
    assert _snapshot(api) == before, hostile.id
    return body


@pytest.mark.parametrize("hostile_id", list(AUDIO))
def test_every_file_is_refused_by_check(hostile_api: Api, hostile_id: str) -> None:
    hostile = AUDIO[hostile_id]
    body = _refused_and_nothing_stored(
        hostile_api, hostile, partial(_post, hostile_api, "check", hostile)
    )
    # The file is named as uploaded, as text in JSON, whatever the name holds.
    assert body["error"].startswith(f"{hostile.filename}: "), body["error"][:400]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("hostile_id", list(AUDIO))
def test_every_file_is_refused_by_every_other_audio_endpoint(
    hostile_api: Api, request: pytest.FixtureRequest, endpoint: str, hostile_id: str
) -> None:
    hostile = AUDIO[hostile_id]
    speaker = request.getfixturevalue("speaker_id") if endpoint in ("verify", "samples") else ""
    _refused_and_nothing_stored(
        hostile_api, hostile, partial(_post, hostile_api, endpoint, hostile, speaker)
    )


@pytest.mark.parametrize("hostile_id", list(ARCHIVES))
def test_every_archive_is_refused_as_a_dataset(hostile_api: Api, hostile_id: str) -> None:
    hostile = ARCHIVES[hostile_id]
    _refused_and_nothing_stored(
        hostile_api, hostile, partial(_post, hostile_api, "datasets", hostile)
    )


def _queue(api: Api) -> JobQueue:
    queue: JobQueue = api.client.app.state.jobs  # type: ignore[attr-defined]
    return queue


def test_every_file_as_a_job(hostile_api: Api) -> None:
    """Refused when submitted, or accepted and every file failed by the worker for an
    expected reason: no crash, no internal error, nothing stored but the job."""
    api = hostile_api
    accepted: dict[str, Hostile] = {}
    kinds = ("detect", "analyze")
    sent = [*ARCHIVES.values(), *AUDIO.values()]
    for n, hostile in enumerate(sent):
        kind = kinds[n % 2]
        before = _snapshot(api)
        response = _measured(partial(_post, api, f"jobs/{kind}", hostile))
        if response.status_code == 202:
            accepted[response.json()["id"]] = hostile
            continue
        _assert_refused(response, hostile)
        assert _snapshot(api) == before, hostile.id
    stored_before = _rows(api, *STORED)
    with consuming(api.runtime, _queue(api)):
        for job_id, hostile in accepted.items():
            done = wait_for(api.runtime, job_id, "succeeded", "failed", timeout_s=BUDGET_S)
            assert done.status == "succeeded", (hostile.id, done)
            results = api.client.get(f"/v1/jobs/{job_id}/results", headers=api.headers())
            records = [json.loads(line) for line in results.text.splitlines() if line]
            assert records and done.progress.failed == done.progress.total == len(records)
            for record in records:
                assert record["status"] != "ok", (hostile.id, record)
                assert record["error_code"] in hostile.expect, (hostile.id, record)
    # No speaker, event, alert or dataset came of them, and their input files are gone.
    assert _rows(api, *STORED) == stored_before
    jobs_dir = api.runtime.settings.resolved_jobs_dir
    assert not [p for p in jobs_dir.rglob("*") if p.is_file() and "input" in p.parts]
