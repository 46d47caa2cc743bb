"""``voxguard jobs ...`` over the local store, and ``voxguard worker`` as a real process."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from typer.testing import CliRunner

from tests.api.audio import speaker_halves
from tests.jobs import NOT_AUDIO, uploads
from voxguard.cli.main import app
from voxguard.config import get_settings
from voxguard.services.job_queue import JobQueue
from voxguard.services.job_schemas import JobKind, JobOut
from voxguard.services.jobs import JobService, submit
from voxguard.store.db import unit_of_work
from voxguard.store.setup import open_store

runner = CliRunner()
VOXGUARD = Path(sys.executable).with_name("voxguard")


def _submit(*named: tuple[str, bytes]) -> JobOut:
    settings = get_settings()
    store, queue = open_store(settings), JobQueue(settings)
    try:
        return submit(store, settings, queue, "key:ops", JobKind.DETECT, uploads(*named))
    finally:
        queue.close()
        store.close()


def _job(job_id: str) -> JobOut:
    settings = get_settings()
    store = open_store(settings)
    try:
        with unit_of_work(store.sessions) as session:
            return JobService(session, settings).get(job_id)
    finally:
        store.close()


def _run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, " ".join(result.output.split())


def test_list_show_cancel_and_results(cli_env: Path) -> None:
    first = _submit(("a.wav", NOT_AUDIO))
    second = _submit(("b.wav", NOT_AUDIO), ("c.wav", NOT_AUDIO))

    code, output = _run("jobs", "list", "--json")
    assert code == 0
    page = json.loads(output)
    assert [j["id"] for j in page["items"]] == [second.id, first.id] and page["total"] == 2
    code, output = _run("jobs", "show", second.id)
    assert code == 0 and "0 of 2 files done" in output and "queued" in output

    code, output = _run("jobs", "results", second.id)
    assert code == 5 and "is queued (0 of 2 files done)" in output
    code, output = _run("jobs", "cancel", second.id)
    assert code == 0 and f"Job {second.id} is cancelled" in output
    code, output = _run("jobs", "cancel", second.id)
    assert code == 5 and "has cancelled already" in output
    code, output = _run("jobs", "list", "--status", "cancelled", "--json")
    assert [j["id"] for j in json.loads(output)["items"]] == [second.id]

    out = cli_env / "out.csv"
    code, output = _run("jobs", "results", second.id, "--format", "csv", "--out", str(out))
    assert code == 0 and out.read_text().startswith("file,status,error,event_id,spoof_")
    code, output = _run("jobs", "show", "nope")
    assert code == 4 and "No job with id 'nope'" in output


def test_voxguard_worker_runs_queued_jobs_and_stops_on_sigterm(cli_env: Path) -> None:
    a, b = speaker_halves(0)
    created = _submit(("a.wav", a), ("b.wav", b), ("notes.wav", NOT_AUDIO))
    process = subprocess.Popen(
        [str(VOXGUARD), "worker", "--workers", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while (job := _job(created.id)).status in ("queued", "running"):
            assert process.poll() is None, process.communicate()[0]
            assert time.monotonic() < deadline, job
            time.sleep(0.2)
        assert job.status == "succeeded" and job.progress.done == 3 and job.progress.failed == 1
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    assert "2 job worker(s) on the embedded queue" in " ".join(output.split())
