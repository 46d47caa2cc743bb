"""Background jobs: their records, and status changes that cannot race.

Every change of status is one conditional UPDATE (``WHERE status IN (...)``): a worker
claiming a job, a user cancelling it and a sweep recovering it from a dead worker may meet,
and exactly one of them wins.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult, and_, case, delete, func, or_, select, update

from voxguard.store.filters import JobFilter
from voxguard.store.models import Job
from voxguard.store.repository import Repository, conditions, filtered

_JOB_FILTERS = ("status", "kind")
# Bound parameters per IN (...) list: far below every backend's limit.
_CHUNK = 500


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

    def of_kind(self, kind: str, statuses: Collection[str]) -> Sequence[Job]:
        """Every job of ``kind`` in one of ``statuses``, oldest first."""
        stmt = select(Job).where(Job.kind == kind, Job.status.in_(list(statuses)))
        return self.session.scalars(stmt.order_by(Job.created_at, Job.id)).all()

    def ended_before(
        self,
        statuses: Collection[str],
        cutoff: datetime,
        unheard_since: datetime,
        ids: Sequence[str] | None = None,
    ) -> Sequence[Job]:
        """Jobs in one of ``statuses`` (the finished ones) that ended before ``cutoff``, of
        ``ids`` when given, oldest first. A job cancelled while running has no end time until
        its worker lets go of it: it counts only once nothing was heard from it since
        ``unheard_since`` nor before ``cutoff`` (its worker died, or long let go)."""
        ended = or_(
            and_(Job.finished_at.is_not(None), Job.finished_at < cutoff),
            and_(
                Job.finished_at.is_(None),
                func.coalesce(Job.heartbeat_at, Job.created_at) < min(cutoff, unheard_since),
            ),
        )
        stmt = select(Job).where(Job.status.in_(list(statuses)), ended)
        if ids is None:
            return list(self.session.scalars(stmt.order_by(Job.created_at, Job.id)))
        found: list[Job] = []
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            found.extend(self.session.scalars(stmt.where(Job.id.in_(chunk))))
        return sorted(found, key=lambda job: (job.created_at, job.id))

    def existing(self, ids: Sequence[str]) -> set[str]:
        """Those of ``ids`` that have a record."""
        found: set[str] = set()
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            found.update(self.session.scalars(select(Job.id).where(Job.id.in_(chunk))))
        return found

    def delete_ids(self, ids: Sequence[str]) -> None:
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            self.session.execute(delete(Job).where(Job.id.in_(chunk)))
        self.session.flush()
