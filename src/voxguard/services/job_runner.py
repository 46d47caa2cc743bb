"""Running one job in a worker: claim it, go through its files, stop when told to.

Each file is the batch's unit of work (``batch.run_file``): its event and alerts are stored
as a single call's would be, and its record is appended to results.jsonl before the next
file starts. So a run that stops for any reason (cancelled, its worker shutting down, its
worker killed) can be taken up again: a new run skips the files already in results.jsonl,
as ``voxguard batch`` does. A file that was being processed when a worker died is run again
(its first event may then be stored twice).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import partial
from typing import Any

from sqlalchemy.orm import Session

from voxguard.errors import QueueUnavailable, VoxGuardError
from voxguard.services import batch
from voxguard.services.job_files import (
    RESULTS,
    job_results,
    mode_of,
    open_source,
    remove_inputs,
    results_path,
    summarize,
)
from voxguard.services.job_queue import JobQueue
from voxguard.services.job_schemas import JobKind, JobStatus
from voxguard.services.reembed import reembed_speakers
from voxguard.services.retrain import retrain
from voxguard.services.runtime import Runtime
from voxguard.store.db import unit_of_work
from voxguard.store.jobs import JobRepository
from voxguard.store.models import Job, utcnow

log = logging.getLogger(__name__)

# Kinds that may run again after their worker died: each file is done once into
# results.jsonl, and a resumed run skips those; a re-embedding job's speakers done are no
# longer stale, and its summary carries them over.
RESUMABLE = frozenset({JobKind.DETECT, JobKind.ANALYZE, JobKind.REEMBED})
# Identities of the JobWorkers alive in this process (see ``orphaned``).
LIVE_WORKERS: set[str] = set()


@dataclass(frozen=True)
class JobContext:
    runtime: Runtime
    queue: JobQueue
    worker: str  # host:pid:token of the JobWorker that runs jobs with this context
    stopping: threading.Event  # set when that worker shuts down: hand jobs back between files


class _Outcome(StrEnum):
    SUCCEEDED = "succeeded"
    CANCELLED = "cancelled"
    RELEASED = "released"  # the worker is stopping: queued again
    LOST = "lost"  # recovered from this worker meanwhile (it was thought dead)


def run_job(ctx: JobContext, job_id: str) -> None:
    """The queue's task: run the job if it is still queued, else leave it be."""
    settings = ctx.runtime.settings
    with unit_of_work(ctx.runtime.store.sessions) as session:
        repo = JobRepository(session)
        claimed = repo.claim(job_id, ctx.worker, utcnow())
        job = repo.get(job_id)
        if job is not None:
            session.refresh(job)
    if job is None:
        log.warning("job %s: no such job; its message is dropped", job_id)
        return
    if not claimed:
        if job.status == JobStatus.CANCELLED:
            remove_inputs(settings, job_id)
        log.info("job %s is %s, not queued: not run", job_id, job.status)
        return
    log.info("job %s: %s, %d file(s), attempt %d", job_id, job.kind, job.files_total, job.attempts)
    try:
        with _heartbeat(ctx, job_id):
            if job.kind == JobKind.RETRAIN:
                outcome, summary = _run_retrain(ctx, job)
            elif job.kind == JobKind.REEMBED:
                outcome, summary = _run_reembed(ctx, job)
            else:
                outcome, summary = _run_files(ctx, job), None
    except VoxGuardError as exc:
        log.warning("job %s failed: %s", job_id, exc.message)
        _end(ctx, job, JobStatus.FAILED, exc.message)
        return
    except Exception as exc:  # a bug or a library's surprise: the job fails, the worker goes on
        log.exception("job %s failed", job_id)
        _end(ctx, job, JobStatus.FAILED, f"Internal error: {type(exc).__name__}: {exc}")
        return
    log.info("job %s: %s", job_id, outcome)
    if outcome is _Outcome.RELEASED:
        requeue(ctx, job_id, ctx.worker, handed_back=True)
    elif outcome is not _Outcome.LOST:
        _end(ctx, job, JobStatus(outcome.value), summary=summary)


def _run_files(ctx: JobContext, job: Job) -> _Outcome:
    settings = ctx.runtime.settings
    source = open_source(settings, job.id, job.params)
    results = job_results(settings, job.id, job.kind)
    num_speakers = job.params.get("num_speakers")
    try:
        plan = batch.plan(source, results, retry_failed=False)
        done, failed = plan.skipped, plan.failed_before
        status = _progress(ctx, job.id, done, failed)
        for name in plan.todo:
            if status != JobStatus.RUNNING:
                break
            if ctx.stopping.is_set():
                return _Outcome.RELEASED
            read = partial(source.read, name)
            mode = mode_of(job.kind)
            result = batch.run_file(ctx.runtime, mode, name, read, job.created_by, num_speakers)
            results.append(result)
            done, failed = done + 1, failed + (not result.ok)
            status = _progress(ctx, job.id, done, failed)
    finally:
        source.close()
        results.close()
    if status is None:
        return _Outcome.LOST
    return _Outcome.CANCELLED if status == JobStatus.CANCELLED else _Outcome.SUCCEEDED


class _Stopped(Exception):
    def __init__(self, outcome: _Outcome) -> None:
        super().__init__(outcome.value)
        self.outcome = outcome


def _run_retrain(ctx: JobContext, job: Job) -> tuple[_Outcome, dict[str, Any] | None]:
    """Featurise (the job's progress counts recordings), refit, register a candidate; its
    version and held-out figures become the job's summary. Not resumable: a run that stops
    starts again from the beginning."""

    def progress(done: int, _total: int) -> None:
        status = _progress(ctx, job.id, done, 0)
        _stop_if_asked(ctx, status)

    runtime = ctx.runtime
    try:
        candidate = retrain(
            runtime.settings,
            runtime.store.sessions,
            job.params["datasets"],
            job.params["base"],
            job.created_by,
            progress,
            job.params.get("regression"),
        )
    except _Stopped as stop:
        return stop.outcome, None
    held = candidate.metrics.get("held_out", {})
    fixed = candidate.metrics.get("regression_set") or {}
    return _Outcome.SUCCEEDED, {
        "candidate": candidate.version,
        "kind": candidate.kind,
        "parent": candidate.parent,
        "held_out_eer": held.get("eer"),
        "base_held_out_eer": held.get("base_eer"),
        "held_out_files": held.get("files"),
        "regression_eer": fixed.get("eer"),
        "base_regression_eer": fixed.get("base_eer"),
        "links": {"model": f"/v1/models/{candidate.kind}/{candidate.version}"},
    }


def _run_reembed(ctx: JobContext, job: Job) -> tuple[_Outcome, dict[str, Any] | None]:
    """Speaker by speaker (the job's progress counts speakers), each committed with the
    job's summary so far; a stopped run leaves that summary, and the next run resumes."""

    def report(
        session: Session, summary: dict[str, Any], done: int, failed: int, total: int
    ) -> None:
        status = JobRepository(session).progress(
            job.id, ctx.worker, done, failed, utcnow(), files_total=total, summary=summary
        )
        _stop_if_asked(ctx, status)

    try:
        summary = reembed_speakers(
            ctx.runtime,
            job.id,
            job.created_by,
            job.params["model_version"],
            report,
            previous=job.summary,
        )
    except _Stopped as stop:
        return stop.outcome, None
    return _Outcome.SUCCEEDED, summary


def _stop_if_asked(ctx: JobContext, status: str | None) -> None:
    """After a progress write: stop when the job was lost, cancelled, or the worker stops."""
    if status is None:
        raise _Stopped(_Outcome.LOST)
    if status == JobStatus.CANCELLED:
        raise _Stopped(_Outcome.CANCELLED)
    if ctx.stopping.is_set():
        raise _Stopped(_Outcome.RELEASED)


def _progress(ctx: JobContext, job_id: str, done: int, failed: int) -> str | None:
    with unit_of_work(ctx.runtime.store.sessions) as session:
        return JobRepository(session).progress(job_id, ctx.worker, done, failed, utcnow())


def _end(
    ctx: JobContext,
    job: Job,
    status: JobStatus,
    error: str | None = None,
    summary: dict[str, Any] | None = None,
) -> None:
    settings = ctx.runtime.settings
    values = _outcome_values(ctx, job)
    if summary is not None:
        values["summary"] = summary
    with unit_of_work(ctx.runtime.store.sessions) as session:
        JobRepository(session).finish(job.id, ctx.worker, status, error=error, **values)
    remove_inputs(settings, job.id)


def _outcome_values(ctx: JobContext, job: Job) -> dict[str, Any]:
    settings = ctx.runtime.settings
    if not results_path(settings, job.id).exists():
        # No results file: a summary the run recorded as it went (a re-embedding job's)
        # stays as it is.
        return {"finished_at": utcnow(), "result_path": None}
    return {
        "finished_at": utcnow(),
        "summary": summarize(settings, job.id, job.kind),
        "result_path": f"{job.id}/{RESULTS}",
    }


def requeue(ctx: JobContext, job_id: str, worker: str | None, handed_back: bool) -> bool:
    """running (by ``worker``) -> queued, and its message sent again. ``handed_back``: by a
    worker that stopped between files (not an attempt used up). If the message cannot be
    sent, the job goes back to running with no heartbeat, for the next sweep to retry."""
    sessions = ctx.runtime.store.sessions
    with unit_of_work(sessions) as session:
        values: dict[str, Any] = {"status": JobStatus.QUEUED, "worker": None, "heartbeat_at": None}
        if handed_back:
            values["attempts"] = Job.attempts - 1
        if not JobRepository(session).transition(job_id, (JobStatus.RUNNING,), worker, **values):
            return False
    try:
        ctx.queue.enqueue(job_id)
    except QueueUnavailable as exc:
        log.error("job %s: could not be queued again: %s", job_id, exc.message)
        with unit_of_work(sessions) as session:
            JobRepository(session).transition(
                job_id, (JobStatus.QUEUED,), status=JobStatus.RUNNING, worker=worker
            )
        return False
    return True


# --- jobs whose worker died -----------------------------------------------------------------


def orphaned(job: Job, now: datetime, stale_s: float) -> bool:
    """Its worker is gone: silent for ``stale_s``, or on this host and no longer alive."""
    if job.heartbeat_at is None or now - job.heartbeat_at > timedelta(seconds=stale_s):
        return True
    host, _, rest = (job.worker or "").partition(":")
    pid_text, _, _token = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return job.worker not in LIVE_WORKERS
    return not _alive(pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def recover(ctx: JobContext) -> list[str]:
    """Jobs left running by a worker that died: queued again (their results so far kept, so
    the next run resumes) while attempts remain and the kind is resumable, else failed with
    the reason. The ids of the jobs recovered."""
    settings = ctx.runtime.settings
    now = utcnow()
    with unit_of_work(ctx.runtime.store.sessions) as session:
        found = [
            j for j in JobRepository(session).running() if orphaned(j, now, settings.job_stale_s)
        ]
    recovered = []
    for job in found:
        if job.kind in RESUMABLE and job.attempts < settings.job_max_attempts:
            if requeue(ctx, job.id, job.worker, handed_back=False):
                log.warning("job %s: its worker %s is gone; queued again", job.id, job.worker)
                recovered.append(job.id)
            continue
        reason = (
            f"Its worker stopped while running it, {job.attempts} time(s) "
            f"(VOXGUARD_JOB_MAX_ATTEMPTS={settings.job_max_attempts}); "
            "the results of the files done are kept."
            if job.kind in RESUMABLE
            else "Its worker stopped while running it, and a job of this kind cannot resume."
        )
        with unit_of_work(ctx.runtime.store.sessions) as session:
            failed = JobRepository(session).finish(
                job.id,
                job.worker or "",
                JobStatus.FAILED,
                error=reason,
                **_outcome_values(ctx, job),
            )
        if failed:
            remove_inputs(settings, job.id)
            log.warning("job %s failed: %s", job.id, reason)
            recovered.append(job.id)
    return recovered


@contextmanager
def _heartbeat(ctx: JobContext, job_id: str) -> Iterator[None]:
    """Tell the sweeps the job is alive while one long file runs."""
    done = threading.Event()
    interval = max(1.0, ctx.runtime.settings.job_stale_s / 5)

    def beat() -> None:
        while not done.wait(interval):
            try:
                with unit_of_work(ctx.runtime.store.sessions) as session:
                    JobRepository(session).beat(job_id, ctx.worker, utcnow())
            except Exception:
                log.warning("job %s: heartbeat not recorded", job_id, exc_info=True)

    thread = threading.Thread(target=beat, name=f"job-{job_id[:8]}-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
