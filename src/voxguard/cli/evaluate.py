"""``voxguard eval``: evaluation protocols. One sub-command per engine (``sv`` here; the
countermeasure's ``cm`` registers the same way)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from voxguard.cli.errors import handle_errors
from voxguard.errors import InvalidInput

eval_app = typer.Typer(help="Evaluate an engine on a protocol.", no_args_is_help=True)
console = Console()
err_console = Console(stderr=True)


def progress_bar() -> Progress:
    """A progress bar on stderr, so ``--json`` output on stdout stays clean."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    )


@eval_app.command("sv")
@handle_errors
def speaker_verification(
    trials: Annotated[
        Path | None, typer.Option("--trials", help="CSV with enroll,test,label columns.")
    ] = None,
    fsdd: Annotated[
        Path | None, typer.Option("--fsdd", help="FSDD recordings folder (its protocol).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Speaker verification: EER (%), minDCF (p_target = 0.01), Cllr and trial counts."""
    from voxguard.evaluation.speaker_eval import evaluate, fsdd_trials, read_trials
    from voxguard.speaker.engine import SpeakerEngine

    if (trials is None) == (fsdd is None):
        raise InvalidInput("Give exactly one of --trials TRIALS.csv or --fsdd DIR.")
    trial_list = read_trials(trials) if trials is not None else fsdd_trials(fsdd)  # type: ignore[arg-type]
    engine = SpeakerEngine()
    with progress_bar() as progress:
        task = progress.add_task("scoring trials", total=len(trial_list))
        report = evaluate(engine, trial_list, on_trial=lambda: progress.advance(task))
    if as_json:
        typer.echo(json.dumps(report.to_dict()))
        return
    table = Table(title="speaker verification")
    for column in ("EER %", "minDCF (0.01)", "Cllr", "targets", "non-targets"):
        table.add_column(column, justify="right")
    table.add_row(
        f"{report.eer:.2f}",
        f"{report.min_dcf:.4f}",
        f"{report.cllr:.4f}",
        str(report.n_target),
        str(report.n_nontarget),
    )
    console.print(table)
