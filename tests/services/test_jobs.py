"""Job lifecycle with real components: SQLite store, Huey queues (SQLite file, Redis) with
their consumers in threads, and the bundled spoof detector."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.api.audio import speaker_halves
from tests.api.conftest import make_settings
from tests.databases import redis_url, unique_prefix
from tests.doubles import SpectralTestEngine
from tests.jobs import NOT_AUDIO, GatedSpoof, consuming, job, uploads, wait_for
from voxguard.config import Settings
from voxguard.errors import InvalidTransition, JobNotFinished, QueueUnavailable
from voxguard.services import batch
from voxguard.services.engines import Loaded, load_spoof_detector
from voxguard.services.job_files import input_dir, job_results, open_source, results_path
from voxguard.services.job_queue import JobQueue, JsonMessages
from voxguard.services.job_runner import orphaned
from voxguard.services.job_schemas import JobKind, JobOut, ResultsFormat
from voxguard.services.job_worker import JobWorker
from voxguard.services.jobs import JobService, submit
from voxguard.services.runtime import Runtime, build_runtime
from voxguard.store.audit import AuditRepository
from voxguard.store.db import unit_of_work
from voxguard.store.jobs import JobRepository
from voxguard.store.models import CheckEvent, Job, utcnow


@pytest.fixture(scope="module")
def detector(tmp_path_factory: pytest.TempPathFactory) -> Loaded:
    settings = Settings(data_dir=tmp_path_factory.mktemp("detector"))
    loaded = load_spoof_detector(settings)
    assert loaded.available, loaded.reason
    return loaded


@dataclass
class Env:
    settings: Settings
    runtime: Runtime
    queue: JobQueue
    gate: GatedSpoof

    def close(self) -> None:
        self.queue.close()
        self.runtime.close()


def _open(settings: Settings, detector: Loaded, gated: bool = False) -> Env:
    gate = GatedSpoof(detector.engine)
    if not gated:
        gate.release.set()
    runtime = build_runtime(settings, speaker=Loaded(SpectralTestEngine()), spoof=Loaded(gate))
    return Env(runtime.settings, runtime, JobQueue(runtime.settings), gate)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path, f"sqlite:///{tmp_path / 'test.db'}", max_job_files=5)


@pytest.fixture
def env(settings: Settings, detector: Loaded) -> Iterator[Env]:
    opened = _open(settings, detector)
    yield opened
    opened.close()


@pytest.fixture
def gated(settings: Settings, detector: Loaded) -> Iterator[Env]:
    opened = _open(settings, detector, gated=True)
    yield opened
    opened.gate.release.set()
    opened.close()


def _three() -> list[tuple[str, bytes]]:
    a, b = speaker_halves(0)
    return [("a.wav", a), ("b.wav", b), ("notes.wav", NOT_AUDIO)]


def _submit(env: Env, files: list[tuple[str, bytes]] | None = None) -> JobOut:
    named = files or _three()
    return submit(
        env.runtime.store, env.settings, env.queue, "key:ops", JobKind.DETECT, uploads(*named)
    )


@contextmanager
def _service(env: Env, actor: str = "key:ops") -> Iterator[JobService]:
    with unit_of_work(env.runtime.store.sessions) as session:
        yield JobService(session, env.settings, actor)


def _results(env: Env, job_id: str, fmt: ResultsFormat) -> str:
    with unit_of_work(env.runtime.store.sessions) as session:
        return "".join(JobService(session, env.settings).results(job_id, fmt))


def _events(env: Env) -> Counter[str]:
    with unit_of_work(env.runtime.store.sessions) as session:
        return Counter(e.operation for e in session.scalars(select(CheckEvent)))


def _audit(env: Env, job_id: str) -> list[tuple[str, str]]:
    with unit_of_work(env.runtime.store.sessions) as session:
        return [(a.action, a.actor) for a in AuditRepository(session).list(job_id)][::-1]


def test_a_detect_job_runs_in_the_background_into_jsonl_and_csv(env: Env) -> None:
    created = _submit(env)
    assert created.status == "queued" and created.progress.total == 3
    assert sorted(p.name for p in input_dir(env.settings, created.id).iterdir()) == [
        "a.wav",
        "b.wav",
        "notes.wav",
    ]
    assert env.queue.pending() == 1

    with consuming(env.runtime, env.queue):
        done = wait_for(env.runtime, created.id, "succeeded", "failed")
    assert done.status == "succeeded", done.error
    assert (done.progress.done, done.progress.failed, done.attempts) == (3, 1, 1)
    assert done.started_at and done.finished_at and done.started_at <= done.finished_at
    assert done.summary is not None and done.summary["files"] == 3 and done.summary["ok"] == 2
    assert done.summary["failed"] == 1 and 0 <= done.summary["synthetic"] <= 2
    assert done.result_path == f"{created.id}/results.jsonl"
    assert not input_dir(env.settings, created.id).exists()  # inputs go once it ends

    records = [
        json.loads(line) for line in _results(env, created.id, ResultsFormat.JSONL).splitlines()
    ]
    by_file = {r["file"]: r for r in records}
    assert set(by_file) == {"a.wav", "b.wav", "notes.wav"}
    assert (
        by_file["a.wav"]["status"] == "ok"
        and 0 <= by_file["a.wav"]["spoof"]["spoof_probability"] <= 1
    )
    assert (
        by_file["notes.wav"]["status"] == "failed" and "notes.wav" in by_file["notes.wav"]["error"]
    )
    assert all(r["mode"] == "detect" for r in records)

    header, *rows = _results(env, created.id, ResultsFormat.CSV).splitlines()
    assert header == "file,status,error,event_id,spoof_probability,is_synthetic,channel,speech_s"
    assert len(rows) == 3 and {r.split(",")[0] for r in rows} == set(by_file)
    assert _events(env)["detect"] == 2  # each file is stored as a single call's event
    assert _audit(env, created.id) == [("create", "key:ops")]


def test_results_are_refused_until_the_job_has_finished(env: Env) -> None:
    created = _submit(env)
    with pytest.raises(JobNotFinished, match=re.escape("is queued (0 of 3 files done)")):
        _results(env, created.id, ResultsFormat.CSV)


def test_a_queued_job_survives_a_restart(settings: Settings, detector: Loaded) -> None:
    first = _open(settings, detector)
    created = _submit(first)
    first.close()  # the server stops before any worker took it

    second = _open(settings, detector)
    try:
        assert second.queue.pending() == 1  # the message is kept in the queue's file
        with consuming(second.runtime, second.queue):
            done = wait_for(second.runtime, created.id, "succeeded", "failed")
        assert done.status == "succeeded" and done.progress.done == 3
    finally:
        second.close()


def test_cancelling_a_queued_job_means_it_never_starts(env: Env) -> None:
    created = _submit(env)
    with _service(env, "cli:ann") as service:
        cancelled = service.cancel(created.id)
    assert cancelled.status == "cancelled" and cancelled.finished_at is not None
    assert not input_dir(env.settings, created.id).exists()
    with consuming(env.runtime, env.queue):
        wait_until_drained(env.queue)
    after = job(env.runtime, created.id)
    assert (after.status, after.started_at, after.attempts) == ("cancelled", None, 0)
    assert not results_path(env.settings, created.id).exists()
    assert _audit(env, created.id) == [("create", "key:ops"), ("cancel", "cli:ann")]
    with pytest.raises(InvalidTransition, match="has cancelled already"), _service(env) as service:
        service.cancel(created.id)
    assert _results(env, created.id, ResultsFormat.JSONL) == ""  # finished, nothing done


def wait_until_drained(queue: JobQueue, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while queue.pending() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert queue.pending() == 0


def test_cancelling_a_running_job_stops_it_between_files(gated: Env) -> None:
    created = _submit(gated)
    with consuming(gated.runtime, gated.queue):
        assert gated.gate.entered.wait(30)  # on its first file
        with _service(gated) as service:
            assert service.cancel(created.id).status == "cancelled"
        gated.gate.release.set()
        stopped = wait_for(gated.runtime, created.id, "cancelled")
    assert stopped.progress.done == 1 and stopped.summary is not None
    assert (stopped.summary["files"], stopped.summary["ok"]) == (1, 1)
    assert len(_results(gated, created.id, ResultsFormat.JSONL).splitlines()) == 1
    assert not input_dir(gated.settings, created.id).exists()


def test_a_stopping_worker_hands_its_job_back_and_the_next_one_resumes(
    settings: Settings, detector: Loaded
) -> None:
    gated = _open(settings, detector, gated=True)
    created = _submit(gated)
    worker = JobWorker(gated.runtime, gated.queue, 1)
    worker.start()
    assert gated.gate.entered.wait(30)
    stopper = threading.Thread(target=worker.stop)
    stopper.start()  # the server shuts down while a file is being processed
    gated.gate.release.set()
    stopper.join(30)
    handed_back = job(gated.runtime, created.id)
    assert (handed_back.status, handed_back.progress.done, handed_back.attempts) == ("queued", 1, 0)
    assert gated.queue.pending() == 1 and input_dir(settings, created.id).exists()
    gated.close()

    again = _open(settings, detector)
    try:
        with consuming(again.runtime, again.queue):
            done = wait_for(again.runtime, created.id, "succeeded", "failed")
        assert (done.status, done.progress.done, done.attempts) == ("succeeded", 3, 1)
        files = [
            json.loads(x)["file"]
            for x in _results(again, created.id, ResultsFormat.JSONL).splitlines()
        ]
        assert sorted(files) == ["a.wav", "b.wav", "notes.wav"]  # none twice
        assert _events(again)["detect"] == 2
    finally:
        again.close()


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def _as_if_a_worker_died_on_it(env: Env, job_id: str, worker: str, attempts: int = 1) -> None:
    """The job's message was taken and its worker died after the first file."""
    env.queue.huey.flush()
    with unit_of_work(env.runtime.store.sessions) as session:
        repo = JobRepository(session)
        assert repo.claim(job_id, worker, utcnow())
        repo.transition(job_id, ("running",), attempts=attempts)
        row = repo.get(job_id)
        assert row is not None
        params = dict(row.params)
    source = open_source(env.settings, job_id, params)
    results = job_results(env.settings, job_id, "detect")
    try:
        name = source.names[0]
        results.append(
            batch.run_file(
                env.runtime, batch.BatchMode.DETECT, name, partial(source.read, name), "key:ops"
            )
        )
    finally:
        source.close()
        results.close()
    with unit_of_work(env.runtime.store.sessions) as session:
        JobRepository(session).progress(job_id, worker, 1, 0, utcnow())


def test_a_job_whose_worker_died_is_resumed_at_start_up(env: Env) -> None:
    created = _submit(env)
    _as_if_a_worker_died_on_it(env, created.id, f"{socket.gethostname()}:{_dead_pid()}:gone")
    assert env.queue.pending() == 0

    with consuming(env.runtime, env.queue):
        done = wait_for(env.runtime, created.id, "succeeded", "failed")
    assert (done.status, done.progress.done, done.attempts) == ("succeeded", 3, 2)
    lines = _results(env, created.id, ResultsFormat.JSONL).splitlines()
    assert sorted(json.loads(x)["file"] for x in lines) == ["a.wav", "b.wav", "notes.wav"]
    assert _events(env)["detect"] == 2  # a.wav was not run again


def test_a_job_out_of_attempts_fails_with_the_reason(env: Env) -> None:
    created = _submit(env)
    max_attempts = env.settings.job_max_attempts
    _as_if_a_worker_died_on_it(env, created.id, "elsewhere:1:x", attempts=max_attempts)
    with unit_of_work(env.runtime.store.sessions) as session:  # silent for too long
        stale = utcnow() - timedelta(seconds=env.settings.job_stale_s + 1)
        JobRepository(session).transition(created.id, ("running",), heartbeat_at=stale)

    with consuming(env.runtime, env.queue):
        failed = wait_for(env.runtime, created.id, "failed", "succeeded")
    assert failed.status == "failed" and failed.error is not None
    assert f"{max_attempts} time(s)" in failed.error and "VOXGUARD_JOB_MAX_ATTEMPTS" in failed.error
    assert failed.summary is not None and failed.summary["files"] == 1  # what was done is kept
    assert not input_dir(env.settings, created.id).exists()


def test_which_running_jobs_are_orphaned() -> None:
    now = utcnow()
    here = socket.gethostname()

    def running(worker: str, beat_s_ago: float | None) -> Job:
        beat = None if beat_s_ago is None else now - timedelta(seconds=beat_s_ago)
        return Job(status="running", worker=worker, heartbeat_at=beat)

    assert not orphaned(running("other-host:1:x", 5), now, 300)  # heard from: alive
    assert orphaned(running("other-host:1:x", 301), now, 300)  # silent too long
    assert orphaned(running("other-host:1:x", None), now, 300)
    assert orphaned(running(f"{here}:{_dead_pid()}:x", 5), now, 300)  # its process is gone
    assert not orphaned(running(f"{here}:{os.getppid()}:x", 5), now, 300)
    # This very process, but not one of its live workers: a previous life with the same pid.
    assert orphaned(running(f"{here}:{os.getpid()}:before", 5), now, 300)


def test_queue_messages_are_json_and_pickles_are_refused(env: Env) -> None:
    created = _submit(env)
    (raw,) = env.queue.huey.storage.enqueued_items()
    message = json.loads(bytes(raw))
    assert message["args"] == [created.id] and message["name"].endswith("run_job")
    with pytest.raises(ValueError):
        JsonMessages().deserialize(b"\x80\x04\x95pickled")


def test_the_same_job_runs_on_a_redis_queue(tmp_path: Path, detector: Loaded) -> None:
    url = redis_url()
    name = unique_prefix()
    settings = make_settings(
        tmp_path, f"sqlite:///{tmp_path / 'test.db'}", queue_url=url, queue_name=name
    )
    env = _open(settings, detector)
    try:
        created = _submit(env)
        assert env.queue.pending() == 1
        (raw,) = env.queue.huey.storage.enqueued_items()
        assert json.loads(raw)["args"] == [created.id]
        with consuming(env.runtime, env.queue, workers=2):
            done = wait_for(env.runtime, created.id, "succeeded", "failed")
        assert done.status == "succeeded" and done.progress.done == 3
        assert env.queue.pending() == 0
    finally:
        env.queue.huey.flush()
        env.close()


def test_an_unreachable_redis_fails_the_job_with_the_reason(
    tmp_path: Path, detector: Loaded
) -> None:
    settings = make_settings(
        tmp_path, f"sqlite:///{tmp_path / 'test.db'}", queue_url="redis://127.0.0.1:1/0"
    )
    env = _open(settings, detector)
    try:
        with pytest.raises(QueueUnavailable, match="unreachable"):
            _submit(env)
        with unit_of_work(env.runtime.store.sessions) as session:
            (row,) = session.scalars(select(Job)).all()
            assert row.status == "failed" and "127.0.0.1:1" in (row.error or "")
        assert not input_dir(settings, row.id).exists()
    finally:
        env.close()
