"""The queue jobs travel through: Huey, embedded (SQLite) or on Redis, one task for both.

A queue message names the job and nothing else; the job itself (its files, status, progress)
lives in the database and the jobs folder. Messages are JSON, never pickle, so that whoever
can write to the queue can at most ask for a job id to be run, not run code in a worker.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable
from typing import Any

from huey import RedisHuey, SqliteHuey
from huey.api import Huey
from huey.consumer import Consumer
from huey.registry import Message
from huey.serializer import Serializer
from redis.exceptions import RedisError

from voxguard.config import Settings
from voxguard.errors import QueueUnavailable

log = logging.getLogger(__name__)

TASK = "run_job"
# How long an idle worker of the embedded queue waits, at most, before looking again.
_MAX_POLL_S = 1.0


class JsonMessages(Serializer):  # type: ignore[misc]
    """Huey messages as JSON: a task name and plain arguments only."""

    _FIELDS = ("id", "name", "retries", "retry_delay", "priority", "args", "kwargs")

    def _serialize(self, data: Any) -> bytes:
        if not isinstance(data, Message) or any(
            (data.eta, data.expires, data.on_complete, data.on_error, data.chord_config)
        ):
            raise TypeError("the job queue carries plain task messages only")
        record = {name: getattr(data, name) for name in self._FIELDS}
        return json.dumps(record | {"args": list(data.args)}).encode()

    def _deserialize(self, data: bytes) -> Message:
        record = json.loads(data)
        fields = {name: record.get(name) for name in self._FIELDS}
        return Message(
            **fields | {"args": tuple(record.get("args") or ()), "kwargs": fields["kwargs"] or {}}
        )


class _EmbeddedConsumer(Consumer):  # type: ignore[misc]
    """Huey's consumer without its signal handlers: the process that embeds it decides how
    to stop (between files, see ``JobWorker``), and it may run outside the main thread."""

    def _set_signal_handlers(self) -> None:
        pass


def _huey(settings: Settings) -> Huey:
    common: dict[str, Any] = {"results": False, "serializer": JsonMessages()}
    if settings.queue_url:
        return RedisHuey(settings.queue_name, url=settings.queue_url, **common)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(
        settings.queue_name, filename=str(settings.job_queue_file), timeout=30, **common
    )


def describe(settings: Settings) -> str:
    """Where the queue is, for messages and logs (no password)."""
    if not settings.queue_url:
        return f"the embedded queue {settings.job_queue_file}"
    scheme, _, rest = settings.queue_url.partition("://")
    return f"Redis at {scheme}://{rest.rpartition('@')[2]} (queue {settings.queue_name})"


class JobQueue:
    """Producers enqueue job ids; a consuming process first says what runs them (``serve``)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        try:
            self.huey = _huey(settings)
        except (sqlite3.Error, OSError) as exc:
            raise QueueUnavailable(f"Cannot open {describe(settings)}: {exc}") from exc
        self._handler: Callable[[str], None] | None = None
        self._task = self.huey.task(name=TASK)(self._run)

    def enqueue(self, job_id: str) -> None:
        try:
            self._task(job_id)
        except (RedisError, sqlite3.Error, OSError) as exc:
            raise QueueUnavailable(
                f"Could not queue the job: {describe(self.settings)} is unreachable: {exc}"
            ) from exc

    def pending(self) -> int:
        """Messages waiting in the queue (cancelled jobs' included until dequeued)."""
        return int(self.huey.pending_count())

    def serve(self, handler: Callable[[str], None]) -> None:
        """Run ``handler(job_id)`` for each message this process's consumers take."""
        self._handler = handler

    def consumer(self, workers: int) -> Consumer:
        return _EmbeddedConsumer(
            self.huey,
            workers=workers,
            worker_type="thread",
            periodic=False,
            max_delay=_MAX_POLL_S,
            check_worker_health=True,
        )

    def close(self) -> None:
        storage = self.huey.storage
        storage.close()
        pool = getattr(storage, "pool", None)  # Redis: its connections
        if pool is not None:
            pool.disconnect()

    def _run(self, job_id: str) -> None:
        if self._handler is None:
            raise RuntimeError("this process consumes no jobs: JobQueue.serve() was not called")
        self._handler(job_id)
