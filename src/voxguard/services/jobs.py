"""Background jobs: submitted, listed, shown, cancelled and read (the API's and the CLI's)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Sequence

from sqlalchemy.orm import Session

from voxguard.config import Settings
from voxguard.errors import (
    InvalidInput,
    InvalidTransition,
    JobNotFinished,
    JobNotFound,
    JobResultsPruned,
    QueueUnavailable,
)
from voxguard.services import job_files
from voxguard.services.job_files import Upload
from voxguard.services.job_queue import JobQueue
from voxguard.services.job_schemas import (
    JobKind,
    JobOut,
    JobPage,
    JobStatus,
    ResultsFormat,
)
from voxguard.store.audit import AuditRepository
from voxguard.store.db import unit_of_work
from voxguard.store.filters import JobFilter
from voxguard.store.jobs import JobRepository
from voxguard.store.models import Job, new_id, utcnow
from voxguard.store.setup import Store


def submit(
    store: Store,
    settings: Settings,
    queue: JobQueue,
    actor: str,
    kind: JobKind,
    uploads: Sequence[Upload],
    num_speakers: int | None = None,
) -> JobOut:
    """Store the files, record the job (and who asked), then queue it. The record is
    committed before the message is sent, so a worker never takes a job it cannot find; a
    message that cannot be sent fails the job, with the reason."""
    job_id = new_id()
    staged = job_files.stage(settings, job_id, uploads)
    params = staged.params | ({"num_speakers": num_speakers} if num_speakers else {})
    try:
        with unit_of_work(store.sessions) as session:
            row = JobRepository(session).add(
                Job(
                    id=job_id,
                    kind=kind,
                    status=JobStatus.QUEUED,
                    created_by=actor,
                    files_total=staged.files,
                    params=params,
                )
            )
            AuditRepository(session).record(
                actor, "create", "job", job_id, kind=str(kind), files=staged.files
            )
            created = JobOut.of(row)
    except BaseException:
        shutil.rmtree(job_files.job_dir(settings, job_id), ignore_errors=True)
        raise
    enqueue(store, settings, queue, job_id)
    return created


def enqueue(store: Store, settings: Settings, queue: JobQueue, job_id: str) -> None:
    """Send a recorded job's message; one that cannot be sent fails the job, with the
    reason."""
    try:
        queue.enqueue(job_id)
    except QueueUnavailable as exc:
        with unit_of_work(store.sessions) as session:
            JobRepository(session).transition(
                job_id,
                (JobStatus.QUEUED,),
                status=JobStatus.FAILED,
                finished_at=utcnow(),
                error=exc.message,
            )
        job_files.remove_inputs(settings, job_id)
        raise


class JobService:
    def __init__(self, session: Session, settings: Settings, actor: str = "system") -> None:
        self.jobs = JobRepository(session)
        self.audit = AuditRepository(session)
        self.settings = settings
        self.actor = actor

    def list(self, spec: JobFilter) -> JobPage:
        items = [JobOut.of(row) for row in self.jobs.list(spec)]
        return JobPage(
            items=items, total=self.jobs.count(spec), offset=spec.offset, limit=spec.limit
        )

    def get(self, job_id: str) -> JobOut:
        return JobOut.of(self._row(job_id))

    def cancel(self, job_id: str) -> JobOut:
        """A queued job never starts (its files are deleted now); a running one stops after
        the file it is on (its worker deletes them)."""
        row = self._row(job_id)
        if self.jobs.transition(
            job_id, (JobStatus.QUEUED,), status=JobStatus.CANCELLED, finished_at=utcnow()
        ):
            was = JobStatus.QUEUED
        elif self.jobs.transition(job_id, (JobStatus.RUNNING,), status=JobStatus.CANCELLED):
            was = JobStatus.RUNNING
        else:
            self.jobs.session.refresh(row)
            raise InvalidTransition(
                f"Job {job_id} has {row.status} already: only a queued or running job can be "
                "cancelled.",
                status=row.status,
            )
        self.audit.record(self.actor, "cancel", "job", job_id, status_from=str(was))
        self.jobs.session.refresh(row)
        if was is JobStatus.QUEUED:
            job_files.remove_inputs(self.settings, job_id)
        return JobOut.of(row)

    def results(self, job_id: str, fmt: ResultsFormat) -> Iterator[str]:
        """The results, line by line, once the job has finished (a failed or cancelled job's
        hold the files done before it stopped)."""
        row = self._row(job_id)
        if row.kind == JobKind.RETRAIN:
            raise InvalidInput(
                f"Job {job_id} retrains a model: it has no results file; its summary names "
                "the candidate (GET /v1/models lists it).",
                kind=row.kind,
            )
        if row.kind == JobKind.REEMBED:
            raise InvalidInput(
                f"Job {job_id} re-embeds speakers: it has no results file; its summary lists "
                "the speakers re-embedded and those who must enroll again "
                "(GET /v1/speakers?stale=true lists the latter).",
                kind=row.kind,
            )
        if not JobStatus(row.status).finished:
            raise JobNotFinished(
                f"Job {job_id} is {row.status} ({row.files_done} of {row.files_total} files "
                "done): its results are there once it has succeeded, failed or been cancelled.",
                status=row.status,
                done=row.files_done,
                total=row.files_total,
            )
        pruned_at = row.params.get(job_files.PRUNED_AT)
        if pruned_at:
            raise JobResultsPruned(
                f"Job {job_id}'s results were deleted by housekeeping on {pruned_at} "
                "(VOXGUARD_JOB_RETENTION_DAYS); its summary is kept.",
                pruned_at=pruned_at,
            )
        return job_files.export(self.settings, job_id, row.kind, fmt)

    def _row(self, job_id: str) -> Job:
        row = self.jobs.get(job_id)
        if row is None:
            raise JobNotFound(f"No job with id {job_id!r}.", job_id=job_id)
        return row
