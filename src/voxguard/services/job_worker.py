"""Consumers of the job queue: Huey worker threads that run jobs with this process's models.

``voxguard worker`` runs them on any machine (Redis queue); ``voxguard serve`` runs them in
one child process of its own (``start_job_process``), beside uvicorn rather than inside its
lifespan: uvicorn's ``--workers N`` would start N lifespans, hence N sets of consumers, and
jobs would compete with requests for the server's GIL. The child is the same code as
``voxguard worker``.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import secrets
import signal
import socket
import threading
import time
from functools import partial
from multiprocessing.process import BaseProcess
from types import FrameType

from huey.consumer import Consumer

from voxguard.config import Settings
from voxguard.logs import configure_logging
from voxguard.malloc import limit_arenas, trim_periodically
from voxguard.services.job_queue import JobQueue, describe
from voxguard.services.job_runner import LIVE_WORKERS, JobContext, recover, run_job
from voxguard.services.runtime import Runtime, build_runtime

log = logging.getLogger(__name__)


class JobWorker:
    """``workers`` threads taking jobs from ``queue``; ``stop`` lets each finish the file it
    is on and hands its job back to the queue."""

    def __init__(self, runtime: Runtime, queue: JobQueue, workers: int) -> None:
        self.identity = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self.workers = workers
        self.context = JobContext(runtime, queue, self.identity, threading.Event())
        self._consumer: Consumer | None = None

    def start(self) -> None:
        """Recover the jobs of dead workers, then consume."""
        LIVE_WORKERS.add(self.identity)
        self.context.queue.serve(partial(run_job, self.context))
        recover(self.context)
        self._consumer = self.context.queue.consumer(self.workers)
        self._consumer.start()

    def tend(self) -> None:
        """Now and then: recover jobs of workers that died meanwhile (on any machine), and
        replace worker threads that died."""
        recover(self.context)
        if self._consumer is not None:
            self._consumer.check_worker_health()

    def stop(self) -> None:
        self.context.stopping.set()
        if self._consumer is not None:
            self._consumer.stop(graceful=True)
        LIVE_WORKERS.discard(self.identity)


def run_worker(settings: Settings, workers: int, parent: int | None = None) -> None:
    """Consume until SIGINT or SIGTERM (or, given ``parent``, until that process is gone)."""
    done = threading.Event()

    def stop(_signum: int, _frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    limit_arenas()  # before the worker threads start
    trim_periodically(settings.malloc_trim_s)
    # The models load with the first job that needs them: an idle worker holds none.
    runtime = build_runtime(settings, lazy=True)
    queue = JobQueue(settings)
    worker = JobWorker(runtime, queue, workers)
    try:
        worker.start()
        log.info("%d job worker(s) on %s", workers, describe(settings))
        every = min(30.0, settings.job_stale_s / 3)
        tended = time.monotonic()
        while not done.wait(1.0):
            if parent is not None and os.getppid() != parent:
                log.warning("the server (pid %d) is gone: stopping", parent)
                break
            if time.monotonic() - tended >= every:
                worker.tend()
                tended = time.monotonic()
    finally:
        log.info("job workers stopping (each after the file it is on)")
        worker.stop()
        queue.close()
        runtime.close()


def start_job_process(settings: Settings, workers: int) -> BaseProcess:
    """The job workers of ``voxguard serve``, in a child process (spawned: the server's
    threads and loaded libraries are not forked)."""
    process = multiprocessing.get_context("spawn").Process(
        target=_job_process, args=(settings, workers, os.getpid()), name="voxguard-jobs"
    )
    process.start()
    return process


def stop_job_process(process: BaseProcess, timeout_s: float = 30.0) -> None:
    """SIGTERM: the workers finish their file and hand their jobs back; killed after
    ``timeout_s`` (its jobs are then recovered at the next start)."""
    if process.is_alive():
        process.terminate()
        process.join(timeout_s)
    if process.is_alive():
        log.warning("job workers did not stop within %.0f s: killed", timeout_s)
        process.kill()
        process.join()


def _job_process(settings: Settings, workers: int, parent: int) -> None:
    configure_logging(settings.log_format, settings.log_level)
    run_worker(settings, workers, parent)
