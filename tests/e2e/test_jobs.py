"""Background jobs as a user meets them: ``voxguard serve`` runs its job workers itself."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx

from tests.api.audio import speaker_halves
from tests.e2e.conftest import Server, start_server


def _poll(client: httpx.Client, job_id: str, timeout_s: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        body: dict[str, Any] = client.get(f"/v1/jobs/{job_id}").json()
        if body["status"] not in ("queued", "running"):
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.3)


def _three() -> list[tuple[str, tuple[str, bytes, str]]]:
    a, b = speaker_halves(0)
    c, _ = speaker_halves(1)
    return [
        ("files", (name, data, "audio/wav"))
        for name, data in (("a.wav", a), ("b.wav", b), ("c.wav", c))
    ]


def test_a_detect_job_of_three_files_runs_to_succeeded(server: Server) -> None:
    assert any("Background jobs: 1 worker(s)" in line for line in server.output)
    with server.client() as client:
        created = client.post("/v1/jobs/detect", files=_three())
        assert created.status_code == 202, created.text
        done = _poll(client, created.json()["id"])
        assert done["status"] == "succeeded", done
        assert done["progress"] == {"done": 3, "failed": 0, "total": 3}
        csv = client.get(f"{done['links']['results']}?format=csv")
    assert csv.status_code == 200 and len(csv.text.splitlines()) == 4


def test_a_job_queued_while_no_worker_runs_after_a_restart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    for server in start_server(data, "--job-workers", "0"):
        with server.client() as client:
            created = client.post("/v1/jobs/detect", files=_three()[:1])
            assert created.status_code == 202, created.text
            time.sleep(1.0)
            assert client.get(f"/v1/jobs/{created.json()['id']}").json()["status"] == "queued"
        key = server.admin_key
    for server in start_server(data):
        with server.client(key) as client:
            done = _poll(client, created.json()["id"])
        assert done["status"] == "succeeded" and done["progress"]["done"] == 1, done
