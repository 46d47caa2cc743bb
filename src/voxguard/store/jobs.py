"""Background jobs: their records, and status changes that cannot race.

Every change of status is one conditional UPDATE (``WHERE status IN (...)``): a worker
claiming a job, a user cancelling it and a sweep recovering it from a dead worker may meet,
and exactly one of them wins.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult, case, func, select, update

from voxguard.store.filters import JobFilter
from voxguard.store.models import Job
from voxguard.store.repository import Repository, conditions, filtered

_JOB_FILTERS = ("status", "kind")


class JobRepository(Repository[Job]):
    model = Job

    def list(self, spec: JobFilter) -> Sequence[Job]:
        """Jobs matching ``spec``, newest first."""
        return self.session.scalars(filtered(Job, Job.created_at, spec, *_JOB_FILTERS)).all()

    def count(self, spec: JobFilter) -> int:
        """How many jobs match ``spec`` (its paging ignored)."""
        where = conditions(Job, Job.created_at, spec, *_JOB_FILTERS)
        return self.session.scalar(select(func.count()).select_from(Job).where(*where)) or 0

    def transition(
        self, job_id: str, from_: Collection[str], held_by: str | None = None, **values: Any
    ) -> bool:
        """Set ``values`` if the job's status is one of ``from_`` (and, given ``held_by``,
        the worker running it is that one); whether it was."""
        stmt = update(Job).where(Job.id == job_id, Job.status.in_(list(from_)))
        if held_by is not None:
            stmt = stmt.where(Job.worker == held_by)
        result: CursorResult[Any] = self.session.execute(stmt.values(**values))  # type: ignore[assignment]
        return result.rowcount == 1

    def claim(self, job_id: str, worker: str, now: datetime) -> bool:
        """queued -> running for ``worker``, counting an attempt; False if it is not queued."""
        return self.transition(
            job_id,
            ("queued",),
            status="running",
            worker=worker,
            heartbeat_at=now,
            attempts=Job.attempts + 1,
            started_at=func.coalesce(Job.started_at, now),
            error=None,
        )

    def progress(
        self, job_id: str, worker: str, done: int, failed: int, now: datetime, **values: Any
    ) -> str | None:
        """Record files done (and of them failed) by ``worker``, and ``values`` (a total, a
        summary so far); the job's status now, or None if the job is no longer that
        worker's (recovered from it, or gone)."""
        stmt = (
            update(Job)
            .where(Job.id == job_id, Job.worker == worker)
            .values(files_done=done, files_failed=failed, heartbeat_at=now, **values)
        )
        result: CursorResult[Any] = self.session.execute(stmt)  # type: ignore[assignment]
        if result.rowcount != 1:
            return None
        return self.session.scalar(select(Job.status).where(Job.id == job_id))

    def finish(self, job_id: str, worker: str, status: str, **values: Any) -> bool:
        """End ``worker``'s run with ``status``, unless the job was cancelled meanwhile: it
        stays cancelled (``values`` are set either way)."""
        return self.transition(
            job_id,
            ("running", "cancelled"),
            held_by=worker,
            status=case((Job.status == "cancelled", "cancelled"), else_=status),
            **values,
        )

    def beat(self, job_id: str, worker: str, now: datetime) -> None:
        """The running worker is alive."""
        self.session.execute(
            update(Job)
            .where(Job.id == job_id, Job.worker == worker, Job.status == "running")
            .values(heartbeat_at=now)
        )

    def running(self) -> Sequence[Job]:
        return self.session.scalars(select(Job).where(Job.status == "running")).all()
