"""``voxguard admin prune``: housekeeping, as ``POST /v1/admin/prune``."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from voxguard.cli.errors import handle_errors
from voxguard.cli.local import actor, console, store_session
from voxguard.services.prune import PruneService
from voxguard.services.prune_schemas import PruneOptions, PruneReport

admin = typer.Typer(help="Operations: housekeeping.", no_args_is_help=True)


def _size(n: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


def _print(report: PruneReport) -> None:
    jobs, models, audio = report.jobs, report.models, report.kept_audio
    title = "Would delete (dry run, nothing changed)" if report.dry_run else "Deleted"
    table = Table("what", "count", "size", title=title)
    table.add_row(
        f"jobs finished before {jobs.cutoff:%Y-%m-%d %H:%M} UTC ({jobs.retention_days} days): "
        "folders",
        str(jobs.folders),
        _size(jobs.size_bytes),
    )
    if jobs.records_deleted:
        table.add_row("jobs: records", str(jobs.records_deleted), "")
    table.add_row("jobs: folders with no record", str(jobs.orphan_folders), "")
    table.add_row(
        f"model versions not needed, older than {models.retention_days} days",
        str(len(models.removed)),
        _size(models.size_bytes),
    )
    table.add_row(
        "kept recordings: files no row refers to", str(audio.orphan_files), _size(audio.size_bytes)
    )
    table.add_row("kept recordings: of deleted speakers", str(audio.orphan_rows), "")
    if audio.purged_recordings:
        table.add_row(
            f"kept recordings: purged ({audio.purged_speakers} speakers)",
            str(audio.purged_recordings),
            "",
        )
    table.add_row("total", "", _size(report.size_bytes))
    console.print(table)
    for m in models.removed:
        console.print(f"  model {m.kind}/{m.version} ({m.status}): {_size(m.size_bytes)}")
    for k in models.kept:
        console.print(f"  kept model {k.kind}/{k.version} ({k.status}): {k.reason}")
    if jobs.truncated:
        console.print(f"  (the first {len(jobs.jobs)} jobs are listed with --json)")
    left = audio.recordings - audio.purged_recordings - audio.orphan_rows
    if not audio.keeping and left > 0:
        console.print(
            f"{left} enrollment recording(s) are kept although VOXGUARD_KEEP_ENROLLMENT_AUDIO "
            "is off: --purge-kept-audio deletes them (speakers then enroll again after a "
            "speaker model change)."
        )


@admin.command("prune")
@handle_errors
def prune(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what would be deleted; change nothing.")
    ] = False,
    older_than: Annotated[
        int | None,
        typer.Option(
            "--older-than",
            min=0,
            max=36500,
            metavar="DAYS",
            help="Retention of this run, jobs and models alike (default "
            "VOXGUARD_JOB_RETENTION_DAYS and VOXGUARD_MODEL_RETENTION_DAYS, 30 each).",
        ),
    ] = None,
    delete_job_records: Annotated[
        bool,
        typer.Option(
            "--delete-job-records",
            help="Also delete those jobs' records (their audit log entries stay).",
        ),
    ] = False,
    purge_kept_audio: Annotated[
        bool,
        typer.Option(
            "--purge-kept-audio",
            help="Delete every kept enrollment recording; refused while "
            "VOXGUARD_KEEP_ENROLLMENT_AUDIO is on or a reembed job is queued or running.",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Delete finished jobs' results and files, model versions no longer needed (never the
    active one, its rollback target or a retrain job's base) and orphaned kept enrollment
    recordings. Files go once the records have changed; audit-logged. Run it daily."""
    options = PruneOptions(
        dry_run=dry_run,
        older_than_days=older_than,
        delete_job_records=delete_job_records,
        purge_kept_audio=purge_kept_audio,
    )
    with store_session() as (current, session):
        report = PruneService(session, current, actor()).prune(options)
    if as_json:
        typer.echo(report.model_dump_json())
        return
    _print(report)


def register(app: typer.Typer) -> None:
    app.add_typer(admin, name="admin")
