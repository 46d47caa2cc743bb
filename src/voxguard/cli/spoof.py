"""``voxguard detect`` and ``voxguard eval cm``: thin shells over ``voxguard.spoof``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from voxguard.cli.errors import handle_errors
from voxguard.cli.evaluate import eval_app, progress_bar
from voxguard.errors import VoxGuardError

console = Console()
err_console = Console(stderr=True)

ModelDirOption = Annotated[
    Path | None,
    typer.Option(
        "--model-dir",
        help="An exported spoof model folder (spoof_detector.onnx + spoof_detector.json), "
        "e.g. from `make spoof-model`; default: the bundled model.",
    ),
]


def register(app: typer.Typer) -> None:
    app.command()(detect)


@handle_errors
def detect(
    files: Annotated[list[Path], typer.Argument(help="Audio files to check.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object per file.")
    ] = False,
    model_dir: ModelDirOption = None,
) -> None:
    """Is it synthetic? Verdict, calibrated probability and per-window scores for each file."""
    from voxguard.spoof import SpoofDetector

    detector = SpoofDetector(model_dir=model_dir)
    failed = 0
    for file in files:
        try:
            result = detector.detect(file)
        except VoxGuardError as exc:
            failed += 1
            if as_json:
                typer.echo(json.dumps({"file": str(file), **exc.to_dict()}))
            else:
                err_console.print(f"[red]{file}[/]: ({exc.code}) {exc.message}", highlight=False)
            continue
        record = {
            "file": str(file),
            "verdict": result.verdict,
            "probability_spoof": round(result.probability, 4),
            "threshold": result.threshold,
            "score": round(result.score, 4),
            "speech_s": result.speech_s,
            "used_vad": result.used_vad,
            "windows": [
                {
                    "start_s": w.start_s,
                    "end_s": w.end_s,
                    "logit": round(w.logit, 4),
                    "probability_spoof": round(w.probability, 4),
                }
                for w in result.windows
            ],
        }
        if as_json:
            typer.echo(json.dumps(record))
            continue
        colour = "red" if result.is_spoof else "green"
        console.print(
            f"[bold]{file}[/]: [{colour}]{result.verdict}[/] "
            f"P(spoof)={result.probability:.3f} (threshold {result.threshold:g}, "
            f"{result.speech_s:.1f} s speech)",
            highlight=False,
        )
        table = Table("window (s of speech)", "logit", "P(spoof)", box=None)
        for w in result.windows:
            table.add_row(
                f"{w.start_s:.1f}-{w.end_s:.1f}", f"{w.logit:+.2f}", f"{w.probability:.3f}"
            )
        console.print(table)
    if failed:
        raise typer.Exit(code=2 if failed == len(files) else 1)


@eval_app.command("cm")
@handle_errors
def eval_cm(
    manifest: Annotated[Path, typer.Option("--manifest", help="CSV: path,label[,system].")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    plot: Annotated[Path | None, typer.Option("--plot", help="Write a DET curve PNG.")] = None,
    model_dir: ModelDirOption = None,
) -> None:
    """Countermeasure metrics of the spoof detector on a labelled manifest."""
    from voxguard.spoof import SpoofDetector
    from voxguard.spoof.evaluate import evaluate, plot_det, read_manifest

    rows = read_manifest(manifest)
    detector = SpoofDetector(model_dir=model_dir)
    with progress_bar() as bar:
        task = bar.add_task("scoring", total=len(rows))
        report = evaluate(rows, detector, progress=lambda: bar.advance(task))
    if plot is not None:
        plot_det(report, plot, title=manifest.name)
    for path, why in report.failures.items():
        err_console.print(f"not scored: {path}: {why}", highlight=False)
    if as_json:
        typer.echo(json.dumps(report.to_dict()))
        return
    console.print(
        f"{manifest}: {report.n_bonafide} bona fide, {report.n_spoof} spoof, "
        f"{len(report.failures)} not scored"
    )
    console.print(
        f"EER {100 * report.eer:.2f}%  minDCF {report.min_dcf:.4f}  "
        f"AUC {report.auc:.4f}  Cllr {report.cllr:.4f}"
    )
    table = Table("system", "EER % (vs all bona fide)", box=None)
    for system, value in report.per_system.items():
        table.add_row(system, f"{100 * value:.1f}")
    console.print(table)
