"""``voxguard batch``: a folder or .zip of recordings through one workflow, into CSV or JSONL."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from voxguard.audio import AUDIO_FILE_SUFFIXES
from voxguard.cli.errors import handle_errors
from voxguard.cli.local import actor, local_runtime, settings
from voxguard.config import Settings
from voxguard.errors import InvalidInput
from voxguard.services import batch as service
from voxguard.services.batch import BatchMode, BatchPlan
from voxguard.services.batch_results import FileResult, ResultsFile
from voxguard.services.batch_sources import BatchSource, open_source

console = Console()
err_console = Console(stderr=True)


def register(app: typer.Typer) -> None:
    app.command()(batch)


@handle_errors
def batch(
    source: Annotated[
        Path,
        typer.Argument(
            help="A folder (every audio file under it, by name: "
            f"{', '.join(AUDIO_FILE_SUFFIXES)}) or a .zip of recordings (read in place)."
        ),
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            help="Results file: .csv (key numbers per file) or .jsonl (each whole result). "
            "Files already in it are skipped, so the same command resumes a run.",
        ),
    ],
    detect: Annotated[
        bool, typer.Option("--detect", help="Is it synthetic? (the default)")
    ] = False,
    check: Annotated[
        bool, typer.Option("--check", help="The monitoring check: who, risk, alerts.")
    ] = False,
    identify: Annotated[
        bool, typer.Option("--identify", help="Who is speaking, among the enrolled speakers?")
    ] = False,
    analyze: Annotated[
        bool,
        typer.Option("--analyze", help="Who spoke when, who each voice is, what is synthetic."),
    ] = False,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            "-w",
            min=1,
            max=64,
            help="Worker processes, each with its own models on one thread.",
        ),
    ] = 1,
    retry_failed: Annotated[
        bool,
        typer.Option("--retry-failed", help="Run again the files whose earlier result failed."),
    ] = False,
) -> None:
    """Many recordings through detect (default), check, identify or analyze: one results
    line per file, each stored as an event; resumable, optionally in parallel."""
    mode = _mode(detect=detect, check=check, identify=identify, analyze=analyze)
    current = settings()
    results = service.results_file(out, mode)
    files = open_source(source, current)
    try:
        plan = service.plan(files, results, retry_failed)
        failed = _run(files, plan, mode, current, workers, results)
    finally:
        files.close()
        results.close()
    _summary(mode, plan, failed, out)
    ran = len(plan.todo)
    if failed:
        raise typer.Exit(code=2 if len(failed) == ran else 1)


def _mode(**flags: bool) -> BatchMode:
    chosen = [name for name, on in flags.items() if on]
    if len(chosen) > 1:
        raise InvalidInput(
            "Choose one of --detect, --check, --identify, --analyze, not "
            + " and ".join(f"--{name}" for name in chosen)
            + "."
        )
    return BatchMode(chosen[0]) if chosen else BatchMode.DETECT


def _run(
    files: BatchSource,
    plan: BatchPlan,
    mode: BatchMode,
    current: Settings,
    workers: int,
    results: ResultsFile,
) -> list[FileResult]:
    failed: list[FileResult] = []
    if not plan.todo:
        return failed
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
    )
    written = 0
    try:
        with progress:
            plural = "" if workers == 1 else "s"
            task = progress.add_task(f"{mode}, {workers} worker{plural}", total=len(plan.todo))
            for result in service.run(
                files,
                plan.todo,
                mode,
                actor(),
                settings=current,
                workers=workers,
                open_runtime=local_runtime,
            ):
                results.append(result)
                written += 1
                if not result.ok:
                    failed.append(result)
                progress.advance(task)
    except KeyboardInterrupt:
        _say(
            err_console,
            f"Interrupted after {written} of {len(plan.todo)} file(s); they are in "
            f"{results.path}: run the same command again to go on.",
        )
        raise typer.Exit(code=130) from None
    return failed


def _summary(mode: BatchMode, plan: BatchPlan, failed: list[FileResult], out: Path) -> None:
    done = len(plan.todo) - len(failed)
    line = f"{mode}: {done} done, {plan.skipped} skipped (already in {out}), {len(failed)} failed"
    if plan.retried:
        line += f"; {plan.retried} earlier failure(s) retried"
    _say(console, line)
    for result in failed:
        error = (result.error or "").removeprefix(f"{result.file}: ")
        _say(console, f"  failed: {result.file}: ({result.error_code}) {error}")
    if plan.failed_before:
        _say(
            console,
            f"{plan.failed_before} skipped file(s) failed earlier: --retry-failed runs them again.",
        )
    _say(console, f"Results: {out}")


def _say(where: Console, text: str) -> None:
    """One line as is: no markup (file names may hold brackets), no wrapping (for grep)."""
    where.print(text, markup=False, highlight=False, soft_wrap=True)
