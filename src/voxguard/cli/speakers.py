"""Local speaker workflows: enroll, verify, identify, check, ``users`` and ``speakers``."""

from __future__ import annotations

import json
import os
import secrets
import socket
import threading
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.panel import Panel
from rich.progress import Progress
from rich.table import Table

from voxguard.cli.errors import handle_errors
from voxguard.cli.local import (
    actor,
    console,
    local_runtime,
    read_input,
    runtime_session,
    store_session,
)
from voxguard.services.job_queue import JobQueue
from voxguard.services.job_schemas import JobOut
from voxguard.services.jobs import JobService
from voxguard.services.recognition import RecognitionService
from voxguard.services.reembed import submit_reembed
from voxguard.services.runtime import Runtime
from voxguard.services.schemas import CheckOut
from voxguard.services.speakers import EnrollmentService, SpeakerDirectory
from voxguard.store.db import unit_of_work

users = typer.Typer(help="List, show and delete enrolled speakers.", no_args_is_help=True)
speakers = typer.Typer(
    help="Speaker upkeep: re-embed speakers after a speaker model change.", no_args_is_help=True
)
AsJson = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
AudioFile = Annotated[Path, typer.Argument(help="Audio file.")]


@handle_errors
def enroll(
    name: Annotated[str, typer.Argument(help="Display name of the speaker.")],
    files: Annotated[list[Path], typer.Argument(help="One or more recordings.")],
    external_id: Annotated[str | None, typer.Option(help="Your own id for the speaker.")] = None,
) -> None:
    """Enroll a new speaker from one or more recordings."""
    with runtime_session() as (runtime, session):
        inputs = [read_input(f, runtime.settings) for f in files]
        result = EnrollmentService(runtime, session, actor()).enroll(name, inputs, external_id)
    s = result.speaker
    console.print(
        f"[green]Enrolled[/] {s.display_name} (id {s.id}) from {len(files)} recording(s), "
        f"{s.speech_seconds:.1f} s of speech."
    )


@handle_errors
def verify(
    name: Annotated[str, typer.Argument(help="Claimed speaker: name or id.")],
    file: AudioFile,
    as_json: AsJson = False,
) -> None:
    """Is this recording the claimed speaker?"""
    with runtime_session() as (runtime, session):
        speaker = SpeakerDirectory(session, actor()).resolve(name)
        item = read_input(file, runtime.settings)
        result = RecognitionService(runtime, session, actor()).verify(speaker.id, item)
    if as_json:
        typer.echo(result.model_dump_json())
        return
    color = "green" if result.accepted else "red"
    console.print(
        f"[{color}]{result.decision.upper()}[/] {result.display_name}: "
        f"similarity {result.similarity:.3f}, probability {result.probability:.3f}"
    )


@handle_errors
def identify(file: AudioFile, as_json: AsJson = False) -> None:
    """Who is speaking (among the enrolled speakers)?"""
    with runtime_session() as (runtime, session):
        result = RecognitionService(runtime, session, actor()).identify(
            read_input(file, runtime.settings)
        )
    if as_json:
        typer.echo(result.model_dump_json())
        return
    if result.best:
        console.print(f"[green]Identified[/] {result.best.display_name} ({result.best.speaker_id})")
    else:
        console.print("[yellow]Unknown speaker[/]: nobody enrolled matched well enough.")
    table = Table("speaker", "id", "similarity", "probability", title="Candidates")
    for c in result.candidates:
        table.add_row(c.display_name, c.speaker_id, f"{c.score:.3f}", f"{c.probability:.3f}")
    console.print(table)


@handle_errors
def check(
    file: AudioFile,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="No prompts; enroll an unknown voice as --name.")
    ] = False,
    no_input: Annotated[
        bool, typer.Option("--no-input", help="Never prompt, never enroll.")
    ] = False,
    name: Annotated[str | None, typer.Option(help="Name to enroll an unknown voice as.")] = None,
    as_json: AsJson = False,
) -> None:
    """Monitoring check: who is it, does it behave like them, is it synthetic, is it usable?"""
    with local_runtime() as runtime:
        item = read_input(file, runtime.settings)
        with unit_of_work(runtime.store.sessions) as session:
            result = RecognitionService(runtime, session, actor()).check(item)
        _report_check(result, as_json)
        if result.recognized:
            return
        new_name = _enroll_decision(file, yes, no_input, name)
        if new_name is None:
            return
        # A separate unit of work: the check and its alert stay recorded whatever happens here.
        with unit_of_work(runtime.store.sessions) as session:
            enrolled = EnrollmentService(runtime, session, actor()).enroll(new_name, [item])
    console.print(f"[green]Enrolled[/] {enrolled.speaker.display_name} (id {enrolled.speaker.id}).")


def _report_check(result: CheckOut, as_json: bool) -> None:
    if as_json:
        typer.echo(result.model_dump_json())
        return
    _print_check(result)
    if not result.recognized:
        console.print(
            Panel(
                "This voice did not match anyone enrolled. Possible causes:\n"
                "  - a new user who has not been enrolled yet\n"
                "  - an impersonation attempt (someone claiming to be a known user)\n"
                "  - poor audio (noise, too little speech, a bad line)"
                + "".join(f"\n    * {m}" for m in result.quality.messages),
                title="[yellow]Warning: unknown voice",
                border_style="yellow",
            )
        )


def _enroll_decision(file: Path, yes: bool, no_input: bool, name: str | None) -> str | None:
    """Ask whether to enroll, for a name, then for a separate confirmation; None: do not."""
    if no_input:
        console.print("Not enrolling (--no-input).")
        return None
    if yes:
        if not name:
            console.print("Not enrolling: --yes needs --name NAME.")
        return name
    if not typer.confirm("Enroll this voice as a new speaker?", default=False):
        console.print("Not enrolled.")
        return None
    chosen = name or typer.prompt("Name of the new speaker").strip()
    if not chosen:
        console.print("Not enrolled: no name given.")
        return None
    if not typer.confirm(
        f"Enroll {chosen!r} from {file.name}? This stores a voiceprint", default=False
    ):
        console.print("Not enrolled.")
        return None
    return chosen


def _print_check(result: CheckOut) -> None:
    color = {"LOW": "green", "MEDIUM": "yellow", "HIGH": "red"}[result.risk_level]
    who = result.speaker.display_name if result.speaker else "unknown"
    console.print(
        f"[bold]{result.verdict}[/] - speaker: {who} - risk [{color}]{result.risk_level}[/]"
    )

    def fmt(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.3f}"

    table = Table(show_header=False)
    table.add_row("voice similarity", fmt(result.voice_similarity))
    table.add_row("voice probability", fmt(result.voice_probability))
    table.add_row("behavior match", fmt(result.behavior_match))
    spoof = fmt(result.spoof_probability) if result.spoof.status == "ok" else "unavailable"
    table.add_row("spoof probability", spoof)
    table.add_row("audio quality", fmt(result.quality.score))
    table.add_row("risk score", fmt(result.risk_score))
    console.print(table)
    for reason in result.reasons:
        console.print(f"  - {reason}")
    if result.alert_id:
        console.print(f"Alert raised: {result.alert_id}")


@users.command("list")
@handle_errors
def list_users(
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    as_json: AsJson = False,
) -> None:
    """Enrolled speakers, oldest first."""
    with store_session() as (_, session):
        page = SpeakerDirectory(session, actor()).list(offset, limit)
    if as_json:
        typer.echo(page.model_dump_json())
        return
    table = Table("id", "name", "samples", "speech s", "quality", "created")
    table.title = f"{page.total} speakers"
    for s in page.items:
        table.add_row(
            s.id,
            s.display_name,
            str(s.enrollment_count),
            f"{s.speech_seconds:.1f}",
            f"{s.quality:.2f}",
            s.created_at.strftime("%Y-%m-%d %H:%M"),
        )
    console.print(table)


@users.command("show")
@handle_errors
def show_user(
    speaker: Annotated[str, typer.Argument(help="Name or id.")], as_json: AsJson = False
) -> None:
    """One speaker's record, including the behavior profile."""
    with store_session() as (_, session):
        found = SpeakerDirectory(session, actor()).resolve(speaker)
    if as_json:
        typer.echo(found.model_dump_json())
        return
    table = Table(show_header=False, title=found.display_name)
    for key, value in found.model_dump(mode="json").items():
        table.add_row(key, json.dumps(value) if isinstance(value, dict) else str(value))
    console.print(table)


@users.command("delete")
@handle_errors
def delete_user(
    speaker: Annotated[str, typer.Argument(help="Name or id.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a speaker, their voiceprints and their kept enrollment recordings."""
    with store_session() as (current, session):
        directory = SpeakerDirectory(session, actor(), current)
        found = directory.resolve(speaker)
        if not yes and not typer.confirm(f"Delete {found.display_name} ({found.id})?"):
            raise typer.Exit(1)
        directory.delete(found.id)
    console.print(f"Deleted {found.display_name} ({found.id}).")


@speakers.command("reembed")
@handle_errors
def reembed(
    wait: Annotated[
        bool,
        typer.Option(
            "--wait",
            help="Run the job in this process (unless a worker has taken it already), show "
            "its progress and print its summary.",
        ),
    ] = False,
    as_json: AsJson = False,
) -> None:
    """Start a job giving every speaker with no voiceprint of the loaded speaker model a new
    one from their kept enrollment recordings; it lists those who must enroll again."""
    with local_runtime() as runtime:
        queue = JobQueue(runtime.settings)
        try:
            job = submit_reembed(runtime, queue, actor())
            if wait:
                job = _run_here(runtime, queue, job)
        finally:
            queue.close()
    if as_json:
        typer.echo(job.model_dump_json())
        return
    if not wait:
        console.print(
            f"Job {job.id} queued: {job.progress.total} speaker(s) without a voiceprint of "
            "the loaded speaker model. `voxguard serve` or `voxguard worker` runs it; follow "
            f"it with: voxguard jobs show {job.id}"
        )
        return
    _print_reembed(job)


def _run_here(runtime: Runtime, queue: JobQueue, job: JobOut) -> JobOut:
    """Run the job as a worker would, in a thread of this process; Ctrl-C hands it back to
    the queue after the speaker it is on. Its state once it has ended."""
    from voxguard.services.job_runner import LIVE_WORKERS, JobContext, run_job

    identity = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
    ctx = JobContext(runtime, queue, identity, threading.Event())
    LIVE_WORKERS.add(identity)
    thread = threading.Thread(target=run_job, args=(ctx, job.id), name="reembed", daemon=True)
    thread.start()
    try:
        with Progress(console=console, transient=True) as bar:
            task = bar.add_task("re-embedding speakers", total=job.progress.total)
            while True:
                with unit_of_work(runtime.store.sessions) as session:
                    job = JobService(session, runtime.settings).get(job.id)
                bar.update(task, completed=job.progress.done, total=job.progress.total)
                if job.status.finished and job.finished_at is not None:
                    return job
                time.sleep(0.2)
    except KeyboardInterrupt:
        console.print("Stopping after the speaker being re-embedded; the job is queued again.")
        ctx.stopping.set()
        raise
    finally:
        thread.join()
        LIVE_WORKERS.discard(identity)


def _print_reembed(job: JobOut) -> None:
    summary = job.summary or {}
    color = "green" if job.status == "succeeded" else "red"
    console.print(
        f"[{color}]Job {job.id} {job.status}[/] (model {summary.get('model_version', '-')}): "
        f"{summary.get('reembedded', 0)} re-embedded, {summary.get('must_reenroll', 0)} must "
        f"enroll again, {summary.get('failed', 0)} failed."
    )
    if job.error:
        console.print(f"  {job.error}")
    rows = summary.get("must_reenroll_speakers", []) + summary.get("failed_speakers", [])
    if rows:
        table = Table("id", "name", "why", title="Must enroll again")
        for row in rows:
            table.add_row(row["id"], row["name"], row["reason"])
        console.print(table)


def register(app: typer.Typer) -> None:
    for command in (enroll, verify, identify, check):
        app.command()(command)
    app.add_typer(users, name="users")
    app.add_typer(speakers, name="speakers")
