"""``voxguard eval``: evaluation protocols. One sub-command per engine (``sv`` and ``diar``
here; the countermeasure's ``cm`` registers the same way)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from voxguard.cli.errors import handle_errors
from voxguard.cli.local import settings
from voxguard.errors import InvalidInput

if TYPE_CHECKING:
    from voxguard.evaluation.diarization import SupportsDiarize

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
    engine = SpeakerEngine(settings())
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


def load_diarizer() -> SupportsDiarize:
    """The diarizer ``eval diar`` runs (tests stand a double in here)."""
    from voxguard.diarization.pipeline import Diarizer

    return Diarizer(settings())


@eval_app.command("diar")
@handle_errors
def diarization(
    manifest: Annotated[
        Path,
        typer.Option(
            "--manifest",
            help="CSV with audio,rttm columns (paths relative to the CSV), as written by "
            "python -m voxguard.evaluation.conversations.",
        ),
    ],
    num_speakers_given: Annotated[
        bool,
        typer.Option(
            "--num-speakers-given",
            help="Tell the diarizer each file's number of speakers (from its reference).",
        ),
    ] = False,
    collar: Annotated[
        float,
        typer.Option(
            "--collar",
            help="Seconds around each reference boundary not scored, in all (pyannote's "
            "convention: half on either side).",
            min=0.0,
        ),
    ] = 0.25,
    per_file: Annotated[bool, typer.Option("--per-file", help="Also score each file.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Diarization error rate (%) and its parts: missed speech, false alarm, confusion."""
    from voxguard.evaluation.diarization import evaluate, read_manifest

    rows = read_manifest(manifest)
    diarizer = load_diarizer()
    with progress_bar() as progress:
        task = progress.add_task("diarizing", total=len(rows))
        report = evaluate(
            diarizer,
            rows,
            oracle_speakers=num_speakers_given,
            collar=collar,
            on_file=lambda: progress.advance(task),
        )
    if as_json:
        typer.echo(json.dumps(report.to_dict(per_file=per_file)))
        return
    columns = ("DER %", "missed %", "false alarm %", "confusion %", "speech s")
    if per_file:
        table = Table("file", "speakers (ref/hyp)", *columns, title="per file")
        for result in report.files:
            score = result.score
            table.add_row(
                result.audio.name,
                f"{result.reference_speakers}/{result.hypothesis_speakers}",
                *_score_cells(score.der, score.missed, score.false_alarm, score.confusion),
                f"{score.speech_s:.1f}",
            )
        console.print(table)
    total = report.total
    title = f"diarization, {len(report.files)} files" + (
        ", oracle speaker count" if num_speakers_given else ""
    )
    table = Table(*columns, title=title)
    table.add_row(
        *_score_cells(total.der, total.missed, total.false_alarm, total.confusion),
        f"{total.speech_s:.1f}",
    )
    console.print(table)


def _score_cells(*rates: float) -> list[str]:
    return [f"{100 * rate:.2f}" for rate in rates]
