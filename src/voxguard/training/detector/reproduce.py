"""Every fold of a protocol as an exported model and a manifest, scored by ``voxguard eval cm``.

    python -m voxguard.training.detector.reproduce --corpus /work/corpus \
        --demos ../shared/data/demos --cache artifacts/cache_corpus_demos.npz \
        --protocol corpus-logo --approaches fusion,baseline --out artifacts/reproduce/corpus-logo

(The cache is built from the sources on first use, as ``train.py`` builds it.)

For each fold this writes ``<fold>/manifest.csv`` (the fold's held-out clips:
``path,label,system``) and ``<fold>/<approach>/`` (the model trained without them, ONNX +
sidecar), scores each model on its manifest with the same code as
``voxguard eval cm --manifest <fold>/manifest.csv --model-dir <fold>/<approach>``, and writes
``summary.json`` plus a Markdown table, the baseline beside the detector. ``commands.sh``
lists the ``eval cm`` command of every row, so any figure can be re-run by hand.

Next to each ``eval cm`` EER the table gives the same model's EER on the cached windows (what
``protocols.py`` reports): the two differ only where the cache kept a random 6 windows of a
long clip, and by the int16 rounding of the cached audio.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from voxguard.evaluation.metrics import eer
from voxguard.spoof.detector import SpoofDetector
from voxguard.spoof.evaluate import evaluate, read_manifest
from voxguard.training.detector.data import Clip, FeatureCache, add_source_arguments, ensure_cache
from voxguard.training.detector.protocols import (
    PROTOCOLS,
    ensure_features,
    folds_for,
    split_prefixes,
)
from voxguard.training.detector.train import (
    add_phone_lines_argument,
    clip_scores,
    demo_test_caches,
    export_fold,
    slug,
)


def write_manifest(clips: list[Clip], path: Path) -> None:
    """``path,label,system`` rows with paths relative to the manifest's folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["path", "label", "system"])
        for clip in clips:
            label = "spoof" if clip.label else "bonafide"
            rel = os.path.relpath(clip.path.resolve(), path.parent.resolve())
            writer.writerow([rel, label, clip.system if clip.label else "human"])


def reproduce_fold(
    cache: FeatureCache,
    protocol: str,
    fold: str,
    approaches: list[str],
    out: Path,
    exclude: tuple[str, ...],
    reference: tuple[str, ...],
    tests: dict[str, FeatureCache] | None = None,
) -> dict[str, object]:
    """Export each approach's model of one fold, write the fold's manifest, score both ways.

    ``tests`` (``demo_test_caches``): fit each model's phone-line, band-limited and
    short-speech calibrations too, so that ``eval cm`` calibrates the fold's calls, MP3s and
    short clips as the bundled model would."""
    fold_dir = out / slug(fold)
    manifest = fold_dir / "manifest.csv"
    row: dict[str, object] = {"fold": fold, "manifest": str(manifest)}
    exports = {
        approach: export_fold(
            cache, approach, protocol, fold, fold_dir / approach, exclude, reference, tests=tests
        )
        for approach in approaches
    }
    # Every approach holds out the same clips: one manifest serves them all.
    held_clips = next(iter(exports.values())).held_clips
    write_manifest([cache.clips[i] for i in held_clips], manifest)
    manifest_rows = read_manifest(manifest)
    for approach, export in exports.items():
        model_dir = fold_dir / approach
        ids, scores = clip_scores(cache, export.model, export.held_windows)
        cache_eer = 100.0 * eer(scores, cache.clip_labels(ids))
        report = evaluate(manifest_rows, SpoofDetector(model_dir=model_dir))
        row[approach] = {
            "eval_cm": report.to_dict(),
            "cache_eer": cache_eer,
            "command": f"voxguard eval cm --manifest {shlex.quote(str(manifest))} "
            f"--model-dir {shlex.quote(str(model_dir))} --json",
        }
        row["n_bonafide"], row["n_spoof"] = report.n_bonafide, report.n_spoof
        print(
            f"{fold} / {approach}: eval cm EER {100 * report.eer:.1f}% "
            f"(cached windows {cache_eer:.1f}%)",
            file=sys.stderr,
            flush=True,
        )
    return row


def one_class_folds(
    cache: FeatureCache, folds: list[tuple[str, np.ndarray]], wanted: tuple[str, ...] = ()
) -> list[str]:
    """Names of the (wanted) folds whose held-out clips are all genuine or all spoof."""
    labels = np.array([c.label for c in cache.clips])
    return [
        name
        for name, held in folds
        if (not wanted or name in wanted) and len(set(labels[held].tolist())) < 2
    ]


# The table's columns per approach: header suffix, the value in a fold result, its format.
_COLUMNS: tuple[tuple[str, Callable[[dict[str, Any]], float], str], ...] = (
    ("EER % (eval cm)", lambda res: float(res["eval_cm"]["eer"]), ".1f"),
    ("(cached)", lambda res: float(res["cache_eer"]), ".1f"),
    ("Cllr", lambda res: float(res["eval_cm"]["cllr"]), ".2f"),
)


def markdown(rows: list[dict[str, object]], approaches: list[str]) -> str:
    head = ["held-out fold", "genuine", "spoof"]
    head += [f"{a} {suffix}" for a in approaches for suffix, _, _ in _COLUMNS]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for r in rows:
        cells = [str(r["fold"]), str(r["n_bonafide"]), str(r["n_spoof"])]
        cells += [
            format(value(_fold_result(r, a)), spec)
            for a in approaches
            for _, value, spec in _COLUMNS
        ]
        lines.append("| " + " | ".join(cells) + " |")
    means = ["mean over folds", "", ""]
    means += [
        format(float(np.mean([value(_fold_result(r, a)) for r in rows])), spec)
        for a in approaches
        for _, value, spec in _COLUMNS
    ]
    lines.append("| " + " | ".join(means) + " |")
    return "\n".join(lines) + "\n"


def _fold_result(row: dict[str, object], approach: str) -> dict[str, Any]:
    result = row.get(approach)
    if not isinstance(result, dict):
        raise TypeError(f"fold {row['fold']}: no result for {approach}")
    return result


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_source_arguments(ap)
    ap.add_argument("--protocol", choices=PROTOCOLS, required=True)
    ap.add_argument("--approaches", default="fusion,baseline")
    ap.add_argument("--exclude", default="", help="group prefixes never trained on")
    ap.add_argument("--reference", default="", help="group prefixes held out of every fold")
    ap.add_argument("--folds", default="", help="only these folds (comma-separated)")
    ap.add_argument("--threads", type=int, default=2)
    add_phone_lines_argument(ap)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    approaches = [a for a in args.approaches.split(",") if a]
    ensure_cache(ap, args)
    cache = ensure_features(args.cache, approaches)
    exclude, reference = split_prefixes(args.exclude), split_prefixes(args.reference)
    folds = folds_for(cache, args.protocol, reference)
    names = [name for name, _ in folds]
    wanted = split_prefixes(args.folds)
    unknown = set(wanted) - set(names)
    if unknown:
        ap.error(f"unknown folds {sorted(unknown)}; {args.protocol} has: {', '.join(names)}")
    one_class = one_class_folds(cache, folds, wanted)
    if one_class:
        ap.error(
            f"folds {', '.join(one_class)} hold out clips of one class only, so eval cm has no "
            "EER for them; hold genuine clips out of every fold with --reference (e.g. "
            "--reference librispeech with --librispeech DIR), or pick other --folds"
        )
    tests = (
        demo_test_caches(args.demos, args.phone_lines, tuple(approaches))
        if args.demos is not None
        else {}
    )
    rows = []
    args.out.mkdir(parents=True, exist_ok=True)
    for name in names:
        if wanted and name not in wanted:
            continue
        rows.append(
            reproduce_fold(
                cache, args.protocol, name, approaches, args.out, exclude, reference, tests
            )
        )
        summary = {"protocol": args.protocol, "cache": str(args.cache), "folds": rows}
        (args.out / "summary.json").write_text(json.dumps(summary, indent=1))
    table = markdown(rows, approaches)
    (args.out / "summary.md").write_text(table)
    commands = [r[a]["command"] for r in rows for a in approaches]  # type: ignore[index]
    (args.out / "commands.sh").write_text("\n".join(["#!/bin/sh", *commands]) + "\n")
    print(table)


if __name__ == "__main__":
    main()
