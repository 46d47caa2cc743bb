"""Helpers for background-job tests: uploads, a consumer in this process, waiting, a gate."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from voxguard.audio.analysis import AnalyzedAudio
from voxguard.services.engines import SpoofVerdict
from voxguard.services.job_files import Upload
from voxguard.services.job_queue import JobQueue
from voxguard.services.job_schemas import JobOut
from voxguard.services.job_worker import JobWorker
from voxguard.services.jobs import JobService
from voxguard.services.runtime import Runtime
from voxguard.store.db import unit_of_work

NOT_AUDIO = b"minutes of the meeting, not a recording\n"


def uploads(*named: tuple[str, bytes]) -> list[Upload]:
    return [Upload(name, io.BytesIO(data)) for name, data in named]


@contextmanager
def consuming(runtime: Runtime, queue: JobQueue, workers: int = 1) -> Iterator[JobWorker]:
    """A real Huey consumer (worker threads) in this process, stopped on leaving."""
    worker = JobWorker(runtime, queue, workers)
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()


def job(runtime: Runtime, job_id: str) -> JobOut:
    with unit_of_work(runtime.store.sessions) as session:
        return JobService(session, runtime.settings).get(job_id)


def wait_for(runtime: Runtime, job_id: str, *statuses: str, timeout_s: float = 60) -> JobOut:
    """Poll the job until its status is one of ``statuses`` (and, for a cancelled job, its
    worker has let go of it: ``finished_at`` set)."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = job(runtime, job_id)
        settled = not found.status.finished or found.finished_at is not None
        if found.status in statuses and settled:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} never became {statuses}: {found}")
        time.sleep(0.1)


class GatedSpoof:
    """The real spoof detector behind a gate: each call waits until ``release`` is set, and
    says it has begun (``entered``), so a test can act while a job is on a file."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.entered = threading.Event()
        self.release = threading.Event()

    @property
    def model_version(self) -> str:
        return str(self.inner.model_version)

    @property
    def threshold(self) -> float:
        return float(self.inner.threshold)

    def detect(self, analyzed: AnalyzedAudio) -> SpoofVerdict:
        self.entered.set()
        if not self.release.wait(60):
            raise AssertionError("the gate was never opened")
        verdict: SpoofVerdict = self.inner.detect(analyzed)
        return verdict
