"""``voxguard jobs list|show|cancel|results`` and ``voxguard worker``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from voxguard.cli.errors import handle_errors
from voxguard.cli.local import actor, console, settings, store_session
from voxguard.services.job_schemas import JobKind, JobOut, JobStatus, ResultsFormat
from voxguard.services.jobs import JobService
from voxguard.store.filters import JobFilter

jobs = typer.Typer(
    help="Background jobs (detect, analyze) and their results.", no_args_is_help=True
)
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]
JobId = Annotated[str, typer.Argument(help="Job id.")]


def _when(job: JobOut) -> str:
    return job.created_at.strftime("%Y-%m-%d %H:%M:%S")


@jobs.command("list")
@handle_errors
def list_jobs(
    status: Annotated[JobStatus | None, typer.Option(help="Only this status.")] = None,
    kind: Annotated[JobKind | None, typer.Option(help="Only this kind.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    as_json: AsJson = False,
) -> None:
    """Jobs, newest first."""
    spec = JobFilter(status=status, kind=kind, limit=limit, offset=offset)
    with store_session() as (current, session):
        page = JobService(session, current, actor()).list(spec)
    if as_json:
        typer.echo(page.model_dump_json())
        return
    table = Table(
        "id", "created", "kind", "status", "files", "failed", "by", title=f"{page.total} jobs"
    )
    for job in page.items:
        p = job.progress
        table.add_row(
            job.id,
            _when(job),
            job.kind,
            job.status,
            f"{p.done}/{p.total}",
            str(p.failed),
            job.created_by,
        )
    console.print(table)


@jobs.command("show")
@handle_errors
def show(job_id: JobId, as_json: AsJson = False) -> None:
    """A job's status, progress, times, error and summary."""
    with store_session() as (current, session):
        job = JobService(session, current, actor()).get(job_id)
    if as_json:
        typer.echo(job.model_dump_json())
        return
    table = Table(show_header=False, title=f"job {job.id}")
    p = job.progress
    rows = {
        "kind": job.kind,
        "status": job.status,
        "progress": f"{p.done} of {p.total} files done, {p.failed} failed",
        "created": f"{_when(job)} by {job.created_by}",
        "started": str(job.started_at or "-"),
        "finished": str(job.finished_at or "-"),
        "attempts": str(job.attempts),
        "error": job.error or "-",
        "summary": json.dumps(job.summary) if job.summary else "-",
    }
    for key, value in rows.items():
        table.add_row(key, value)
    console.print(table)


@jobs.command("cancel")
@handle_errors
def cancel(job_id: JobId) -> None:
    """Cancel a job: a queued one never starts, a running one stops after its current file."""
    with store_session() as (current, session):
        job = JobService(session, current, actor()).cancel(job_id)
    console.print(
        f"Job {job.id} is {job.status} ({job.progress.done} of {job.progress.total} done)."
    )


@jobs.command("results")
@handle_errors
def results(
    job_id: JobId,
    fmt: Annotated[
        ResultsFormat, typer.Option("--format", help="jsonl: each whole result; csv: key columns.")
    ] = ResultsFormat.JSONL,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write here (default: stdout).")
    ] = None,
) -> None:
    """A finished job's results, one line per file."""
    with store_session() as (current, session):
        lines = JobService(session, current, actor()).results(job_id, fmt)
    if out is None:
        sys.stdout.writelines(lines)
        return
    with out.open("w", encoding="utf-8", newline="") as handle:
        handle.writelines(lines)
    console.print(f"Wrote {out}.")


@handle_errors
def worker(
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            "-w",
            min=1,
            max=64,
            help="Jobs run at once (default VOXGUARD_JOB_WORKERS, at least 1).",
        ),
    ] = None,
) -> None:
    """Run job workers: take jobs from the queue (VOXGUARD_QUEUE_URL, or the embedded one in
    the data dir) until Ctrl-C or SIGTERM, which stop each after the file it is on."""
    from voxguard.logs import configure_logging
    from voxguard.services.job_queue import describe
    from voxguard.services.job_worker import run_worker

    current = settings()
    count = workers or max(1, current.job_workers)
    configure_logging(current.log_format, current.log_level)
    console.print(
        f"{count} job worker(s) on {describe(current)}; Ctrl-C stops them.", soft_wrap=True
    )
    run_worker(current, count)


def register(app: typer.Typer) -> None:
    app.add_typer(jobs, name="jobs")
    app.command()(worker)
