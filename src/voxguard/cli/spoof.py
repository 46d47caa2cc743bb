"""``voxguard detect`` and ``voxguard eval cm``: thin shells over ``voxguard.spoof``."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from voxguard.audio import AUDIO_FILE_SUFFIXES, audio_files_in
from voxguard.cli.errors import handle_errors
from voxguard.cli.evaluate import eval_app, progress_bar
from voxguard.errors import VoxGuardError

if TYPE_CHECKING:
    from voxguard.spoof.detector import SpoofResult

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


def short_names(paths: list[str]) -> list[str]:
    """The shortest trailing path parts that still tell the model folders apart."""
    parts = [Path(p).parts for p in paths]
    for depth in range(1, max(len(p) for p in parts) + 1):
        names = ["/".join(p[-depth:]) for p in parts]
        if len(set(names)) == len(names):
            return names
    return paths


def register(app: typer.Typer) -> None:
    app.command()(detect)


@handle_errors
def detect(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="Audio files to check; a folder stands for every audio file under it "
            f"(by name: {', '.join(AUDIO_FILE_SUFFIXES)})."
        ),
    ],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object per file.")
    ] = False,
    model_dir: ModelDirOption = None,
) -> None:
    """Is it synthetic? Verdict, calibrated probability and per-window scores for each file."""
    from voxguard.spoof import SpoofDetector

    detector = SpoofDetector(model_dir=model_dir)
    targets = _with_folders_expanded(files)
    failed = flagged = 0
    for file, problem in targets:
        try:
            if problem is not None:
                raise problem
            result = detector.detect(file)
        except VoxGuardError as exc:
            failed += 1
            if as_json:
                typer.echo(json.dumps({"file": str(file), **exc.to_dict()}))
            else:
                err_console.print(f"[red]{file}[/]: ({exc.code}) {exc.message}", highlight=False)
            continue
        flagged += result.is_spoof
        record = {
            "file": str(file),
            "verdict": result.verdict,
            "probability_spoof": round(result.probability, 4),
            "threshold": result.threshold,
            "score": round(result.score, 4),
            "speech_s": result.speech_s,
            "used_vad": result.used_vad,
            "channel": result.channel,
            "short_speech": result.short_speech,
            **_head_fields(result),
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
            f"{_scored_audio(result.speech_s, result.used_vad)}"
            f"{_CHANNEL_NOTES.get(result.channel, '')}"
            f"{', short speech' if result.short_speech else ''}"
            f"{_head_note(result)})",
            highlight=False,
        )
        table = Table("window (s into the file)", "logit", "P(spoof)", box=None)
        for w in result.windows:
            table.add_row(
                f"{w.start_s:.1f}-{w.end_s:.1f}", f"{w.logit:+.2f}", f"{w.probability:.3f}"
            )
        console.print(table)
    if len(targets) > 1 and not as_json:
        passed = len(targets) - failed - flagged
        console.print(
            f"{len(targets)} checked: {flagged} spoof, {passed} bonafide, {failed} failed",
            highlight=False,
        )
    if failed:
        raise typer.Exit(code=2 if failed == len(targets) else 1)


def _with_folders_expanded(paths: list[Path]) -> list[tuple[Path, VoxGuardError | None]]:
    """Each path as given, a folder replaced by its audio files; a folder without any stays,
    with the error that says so, so that it is reported in its place and counted as failed."""
    targets: list[tuple[Path, VoxGuardError | None]] = []
    for path in paths:
        if not path.is_dir():
            targets.append((path, None))
            continue
        try:
            targets += [(found, None) for found in audio_files_in(path)]
        except VoxGuardError as exc:
            targets.append((path, exc))
    return targets


# What the verdict line says about a channel that got its own calibration.
_CHANNEL_NOTES = {
    "narrowband": ", phone line",
    "band_limited": ", top band empty (MP3 or low-pass)",
}


def _scored_audio(seconds: float, used_vad: bool) -> str:
    """What the windows covered: the VAD's speech, or, when it found too little, every
    non-silent sample, which may be no speech at all (noise, music, a tone)."""
    if used_vad:
        return f"{seconds:.1f} s speech"
    return f"{seconds:.1f} s of sound scored whole: the VAD found too little speech in it"


@eval_app.command("cm")
@handle_errors
def eval_cm(
    manifest: Annotated[
        Path,
        typer.Option(
            "--manifest",
            help="CSV: path,label[,system]; a `make corpus` manifest works as is (its "
            "generator column names the systems).",
        ),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    plot: Annotated[Path | None, typer.Option("--plot", help="Write a DET curve PNG.")] = None,
    model_dirs: Annotated[
        list[Path] | None,
        typer.Option(
            "--model-dir",
            help="An exported spoof model folder (spoof_detector.onnx + spoof_detector.json); "
            "repeat it to compare models side by side on the same files. Default: the bundled "
            "model.",
        ),
    ] = None,
) -> None:
    """Countermeasure metrics of the spoof detector on a labelled manifest."""
    from voxguard.spoof import SpoofDetector
    from voxguard.spoof.evaluate import CmReport, evaluate, plot_det, read_manifest

    rows = read_manifest(manifest)
    # Load every model first, so a bad folder fails before any scoring starts.
    detectors = (
        [SpoofDetector(model_dir=d) for d in model_dirs] if model_dirs else [SpoofDetector()]
    )
    names = [str(d) for d in model_dirs] if model_dirs else ["bundled"]
    reports: list[CmReport] = []
    with progress_bar() as bar:
        for name, detector in zip(names, detectors, strict=True):
            task = bar.add_task(f"scoring ({name})", total=len(rows))
            reports.append(evaluate(rows, detector, progress=functools.partial(bar.advance, task)))
    if plot is not None:
        plot_det(
            reports,
            plot,
            title=f"{manifest.parent.name}/{manifest.name}",
            names=short_names(names) if len(names) > 1 else None,
        )
    for path, why in reports[0].failures.items():
        err_console.print(f"not scored: {path}: {why}", highlight=False)
    if as_json:
        if len(reports) == 1:
            typer.echo(json.dumps(reports[0].to_dict()))
        else:
            models = [
                {"model_dir": name, "version": d.sidecar.version, **r.to_dict()}
                for name, d, r in zip(names, detectors, reports, strict=True)
            ]
            typer.echo(json.dumps({"models": models}))
        return
    first = reports[0]
    console.print(
        f"{manifest}: {first.n_bonafide} bona fide, {first.n_spoof} spoof, "
        f"{len(first.failures)} not scored"
    )
    if len(reports) == 1:
        console.print(
            f"EER {100 * first.eer:.2f}%  minDCF {first.min_dcf:.4f}  "
            f"AUC {first.auc:.4f}  Cllr {first.cllr:.4f}"
        )
        table = Table("system", "EER % (vs all bona fide)", box=None)
        for system, value in first.per_system.items():
            table.add_row(system, f"{100 * value:.1f}")
        console.print(table)
        return
    columns = [f"{n}\n{d.sidecar.version}" for n, d in zip(names, detectors, strict=True)]
    table = Table("", *columns, box=None)
    table.add_row("EER %", *(f"{100 * r.eer:.2f}" for r in reports))
    table.add_row("minDCF", *(f"{r.min_dcf:.4f}" for r in reports))
    table.add_row("ROC AUC", *(f"{r.auc:.4f}" for r in reports))
    table.add_row("Cllr", *(f"{r.cllr:.4f}" for r in reports))
    for system in first.per_system:
        table.add_row(
            f"EER % {system} (vs all bona fide)",
            *(f"{100 * r.per_system[system]:.1f}" for r in reports),
        )
    console.print(table)


def _head_fields(result: SpoofResult) -> dict[str, float]:
    """The classical-TTS head's share of the verdict, when the model has one."""
    if result.classical_tts_probability is None or result.main_probability is None:
        return {}
    return {
        "probability_main_model": round(result.main_probability, 4),
        "classical_tts_probability": round(result.classical_tts_probability, 4),
    }


def _head_note(result: SpoofResult) -> str:
    if not result.classical_tts_probability:
        return ""
    return f", classical TTS: {result.classical_tts_probability:.3f}"
