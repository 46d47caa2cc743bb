"""/v1/jobs with the real models and a real Huey consumer beside the app."""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.audio import speaker_halves
from tests.api.conftest import Api, make_settings, open_api
from tests.databases import database_url
from tests.diarization.conversation import human_and_tts
from tests.jobs import NOT_AUDIO, consuming
from voxguard.config import Settings
from voxguard.services.engines import Loaded, load_spoof_detector
from voxguard.services.job_queue import JobQueue
from voxguard.speaker.engine import SpeakerEngine


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    tmp: Path = tmp_path_factory.mktemp("jobs")
    with database_url("sqlite", tmp) as url:
        settings = make_settings(tmp, url, max_upload_mb=2.0, max_request_mb=40.0, max_job_files=3)
        speaker = Loaded(SpeakerEngine(Settings()))
        yield from open_api(settings, speaker=speaker, spoof=load_spoof_detector(settings))


def _queue(api: Api) -> JobQueue:
    queue: JobQueue = api.client.app.state.jobs  # type: ignore[attr-defined]
    return queue


def _files() -> list[tuple[str, tuple[str, bytes, str]]]:
    a, b = speaker_halves(0)
    return [
        ("files", ("a.wav", a, "audio/wav")),
        ("files", ("b.wav", b, "audio/wav")),
        ("files", ("notes.wav", NOT_AUDIO, "audio/wav")),
    ]


def test_a_detect_job_is_accepted_run_and_its_results_streamed(api: Api) -> None:
    created = api.client.post("/v1/jobs/detect", files=_files(), headers=api.headers("operator"))
    assert created.status_code == 202, created.text
    job = created.json()
    assert created.headers["location"] == f"/v1/jobs/{job['id']}" == job["links"]["self"]
    assert job["status"] == "queued" and job["progress"] == {"done": 0, "failed": 0, "total": 3}
    assert job["kind"] == "detect" and job["created_by"].startswith("key:operator")

    early = api.client.get(f"/v1/jobs/{job['id']}/results", headers=api.headers("reader"))
    assert early.status_code == 409 and early.json()["code"] == "job_not_finished"
    assert "is queued (0 of 3 files done)" in early.json()["error"]

    with consuming(api.runtime, _queue(api)):
        done = api.finished_job(job["id"])
    assert done["status"] == "succeeded" and done["progress"] == {
        "done": 3,
        "failed": 1,
        "total": 3,
    }
    assert done["started_at"] and done["finished_at"] and done["attempts"] == 1
    assert done["summary"]["ok"] == 2 and done["error"] is None

    jsonl = api.client.get(done["links"]["results"], headers=api.headers("reader"))
    assert jsonl.status_code == 200 and jsonl.headers["content-type"] == "application/x-ndjson"
    records = [json.loads(line) for line in jsonl.text.splitlines()]
    assert sorted(r["file"] for r in records) == ["a.wav", "b.wav", "notes.wav"]
    assert {r["file"]: r["status"] for r in records}["notes.wav"] == "failed"
    csv = api.client.get(f"/v1/jobs/{job['id']}/results?format=csv", headers=api.headers("reader"))
    assert csv.headers["content-type"].startswith("text/csv")
    assert f'filename="job-{job["id"]}.csv"' in csv.headers["content-disposition"]
    header, *rows = csv.text.splitlines()
    assert header.startswith("file,status,error,event_id,spoof_probability") and len(rows) == 3

    listed = api.client.get("/v1/jobs?status=succeeded", headers=api.headers("reader")).json()
    assert job["id"] in [j["id"] for j in listed["items"]] and listed["total"] >= 1
    audit = api.client.get(f"/v1/audit?entity_id={job['id']}", headers=api.headers("admin"))
    assert [a["action"] for a in audit.json()] == ["create"]


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_a_zip_job_cancelled_before_it_starts(api: Api) -> None:
    a, b = speaker_halves(1)
    archive = ("files", ("calls.zip", _zip({"x/a.wav": a, "x/b.wav": b}), "application/zip"))
    created = api.client.post("/v1/jobs/detect", files=[archive], headers=api.headers("operator"))
    assert created.status_code == 202, created.text
    job_id = created.json()["id"]
    assert created.json()["progress"]["total"] == 2

    path = f"/v1/jobs/{job_id}"
    assert api.client.delete(path, headers=api.headers("reader")).status_code == 403
    cancelled = api.client.delete(path, headers=api.headers("operator"))
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = api.client.delete(path, headers=api.headers("operator"))
    assert again.status_code == 409 and "only a queued or running job" in again.json()["error"]
    with consuming(api.runtime, _queue(api)):
        deadline = time.monotonic() + 30
        while _queue(api).pending() and time.monotonic() < deadline:
            time.sleep(0.1)
    after = api.client.get(path, headers=api.headers("reader")).json()
    assert after["status"] == "cancelled" and after["started_at"] is None
    results = api.client.get(f"{path}/results", headers=api.headers("reader"))
    assert results.status_code == 200 and results.text == ""
    audit = api.client.get(f"/v1/audit?entity_id={job_id}", headers=api.headers("admin")).json()
    assert sorted(a["action"] for a in audit) == ["cancel", "create"]


def test_roles_limits_and_unknown_jobs(api: Api) -> None:
    reader = api.client.post("/v1/jobs/detect", files=_files(), headers=api.headers("reader"))
    assert reader.status_code == 403
    four = [*_files(), ("files", ("d.wav", b"RIFF", "audio/wav"))]
    too_many = api.client.post("/v1/jobs/detect", files=four, headers=api.headers("operator"))
    assert too_many.status_code == 422 and "VOXGUARD_MAX_JOB_FILES" in too_many.json()["error"]
    big = [("files", ("big.wav", b"\0" * (2 * 1024 * 1024 + 1), "audio/wav"))]
    too_big = api.client.post("/v1/jobs/detect", files=big, headers=api.headers("operator"))
    assert too_big.status_code == 413 and too_big.json()["code"] == "audio_too_large"
    text = [("files", ("notes.txt", b"x", "text/plain"))]
    not_audio = api.client.post("/v1/jobs/analyze", files=text, headers=api.headers("operator"))
    assert not_audio.status_code == 415 and "notes.txt" in not_audio.json()["error"]
    unknown = api.client.get("/v1/jobs/nope", headers=api.headers("reader"))
    assert unknown.status_code == 404 and unknown.json()["code"] == "job_not_found"
    bad = api.client.get("/v1/jobs?status=done", headers=api.headers("reader"))
    assert bad.status_code == 422 and "status" in bad.json()["error"]
    fmt = api.client.get("/v1/jobs/nope/results?format=xml", headers=api.headers("reader"))
    assert fmt.status_code == 422


def test_an_analyze_job_of_a_long_call(api: Api) -> None:
    _, conversation = human_and_tts()
    created = api.client.post(
        "/v1/jobs/analyze?num_speakers=2",
        files=[("files", ("call.wav", conversation, "audio/wav"))],
        headers=api.headers("operator"),
    )
    assert created.status_code == 202, created.text
    with consuming(api.runtime, _queue(api)):
        done = api.finished_job(created.json()["id"])
    assert done["status"] == "succeeded" and done["progress"]["failed"] == 0, done
    assert done["summary"]["risk_levels"] == {"HIGH": 1} and done["summary"]["alerts"] >= 1
    (record,) = [
        json.loads(line)
        for line in api.client.get(
            done["links"]["results"], headers=api.headers("reader")
        ).text.splitlines()
    ]
    assert record["mode"] == "analyze" and record["num_speakers"] == 2
    assert any(s["is_synthetic"] for s in record["speakers"])
