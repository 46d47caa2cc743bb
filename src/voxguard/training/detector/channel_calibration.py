"""Refit one of an exported model's channel calibrations on every demo-page source, out of fold.

    python -m voxguard.training.detector.channel_calibration --cache artifacts/cache_all.npz \
        --model-dir src/voxguard/models/spoof --work artifacts/realworld_channels \
        [--block band_limited|narrowband] --approach fusion_ensemble --exclude librispeech \
        --out artifacts/BL-rw

The recipe fits its band-limited block (MP3 32k, a 7 kHz low-pass) and its narrowband block
(AMR-NB and G.711, as 8 kHz files and as 16-bit 16 kHz recordings) on demos-loso scores of
the 11 demo repositories. Here the demo clips and a per-source sample of the real-world corpus
(at most ``--per-class`` genuine and spoof clips per source, first by path) go through the
block's channels; the 10 sources-kfold fold models of the recipe score each clip's source only
where they never saw it, and the block is refitted on those scores. A held-out check comes
with it: the block fitted on the sources of folds 0-4 is applied to folds 5-9 and vice versa,
and the half-total error rate (mean of genuine flagged and spoofs missed at the model's
threshold) of those probabilities is compared with the existing block's on the same scores.
``--out`` gets a copy of the model with only that block replaced.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from scipy.special import expit

from voxguard.evaluation.metrics import rates_at
from voxguard.spoof.features import FeatureParams
from voxguard.spoof.sidecar import load_sidecar
from voxguard.training.detector.approaches import fit_approach
from voxguard.training.detector.augment import TEST_CHANNELS
from voxguard.training.detector.data import REALWORLD_PREFIX, Clip, FeatureCache, build_cache
from voxguard.training.detector.export import SIDECAR_FILE
from voxguard.training.detector.protocols import (
    ensure_features,
    folds_for,
    scored_windows,
    split_prefixes,
    training_windows,
)
from voxguard.training.detector.train import (
    CHANNEL_BLOCKS,
    clip_scores,
    fit_calibration,
    recalibrate_model,
)

CLEAN = "clean"

# (fold, label, clip score) per clip path, per channel.
ChannelScores = dict[str, dict[str, tuple[str, int, float]]]


def sample_clips(clips: list[Clip], per_class: int) -> list[Clip]:
    """Every demo clip, and at most ``per_class`` genuine and spoof clips of each real-world
    source (the first by path): no source dominates the fit."""
    kept: list[Clip] = [c for c in clips if c.group.startswith("demos:")]
    taken: collections.Counter[tuple[str, int]] = collections.Counter()
    for clip in sorted(
        (c for c in clips if c.group.startswith(REALWORLD_PREFIX)), key=lambda c: str(c.path)
    ):
        key = (clip.group, clip.label)
        if taken[key] < per_class:
            taken[key] += 1
            kept.append(clip)
    return kept


def _channel_cache(
    clips: list[Clip],
    line: str,
    path: str,
    approach: str,
    excerpt_s: tuple[float, float] | None = None,
) -> str:
    if not Path(path).exists():
        # "clean": the clips as they are (a compact training cache keeps no window audio).
        channel = None if line == CLEAN else TEST_CHANNELS[line]
        cache = build_cache(
            clips, FeatureParams(), augment_copies=0, channel=channel, excerpt_s=excerpt_s
        )
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        cache.save(Path(path))
    ensure_features(Path(path), [approach])
    return path


def channel_caches(
    clips: list[Clip],
    lines: tuple[str, ...],
    work: Path,
    approach: str,
    excerpt_s: tuple[float, float] | None = None,
) -> dict[str, FeatureCache]:
    """The clips through each channel (no augmentation), one process per channel, cached;
    with ``excerpt_s``, each clip as one short speech excerpt (``build_cache``), cached as
    ``short-LINE.npz``."""
    prefix = "" if excerpt_s is None else "short-"
    # One process per core at most: each holds its channel's window audio and features.
    with ProcessPoolExecutor(max_workers=min(len(lines), os.cpu_count() or 1)) as pool:
        paths = {
            line: pool.submit(
                _channel_cache, clips, line, str(work / f"{prefix}{line}.npz"), approach, excerpt_s
            )
            for line in lines
        }
        return {line: FeatureCache.load(Path(f.result())) for line, f in paths.items()}


def sources_kfold_channel_scores(
    train: FeatureCache,
    tests: dict[str, FeatureCache],
    approach: str,
    epochs: int,
    exclude: tuple[str, ...],
) -> ChannelScores:
    """Each sources-kfold fold model scores, in every channel cache, the clips of the
    sources it held out."""
    scores: ChannelScores = {line: {} for line in tests}
    for name, held in folds_for(train, "sources-kfold"):
        held_groups = {c.group for c, h in zip(train.clips, held, strict=True) if h}
        model = fit_approach(approach, train, training_windows(train, held, exclude), epochs)
        for line, cache in tests.items():
            wanted = np.array([c.group in held_groups for c in cache.clips])
            windows = scored_windows(cache, wanted)
            if windows.size == 0:
                continue
            ids, means = clip_scores(cache, model, windows)
            for i, m in zip(ids, means, strict=True):
                clip = cache.clips[int(i)]
                scores[line][str(clip.path)] = (name, clip.label, float(m))
        print(f"  fold {name}", file=sys.stderr, flush=True)
    return scores


def error_rates(
    probability: np.ndarray, labels: np.ndarray, threshold: float
) -> tuple[float, float, float]:
    """(genuine share flagged, spoof share missed, half-total error rate: their mean)."""
    ((_, flagged, missed),) = rates_at(probability, labels, [threshold])
    return flagged, missed, (flagged + missed) / 2


def hter(probability: np.ndarray, labels: np.ndarray, threshold: float) -> float:
    """Half-total error rate: mean of the genuine share flagged and the spoof share missed."""
    return error_rates(probability, labels, threshold)[2]


def held_out_check(
    folds: np.ndarray,
    scores: np.ndarray,
    labels: np.ndarray,
    current: tuple[float, float],
    threshold: float,
    first_half: tuple[str, ...] = ("fold0", "fold1", "fold2", "fold3", "fold4"),
) -> dict[str, float]:
    """HTER of a block cross-fitted between two halves of the source folds, against the
    current block's on the same scores."""
    half = np.isin(folds, first_half)
    crossed = np.empty_like(scores)
    for fit_on in (half, ~half):
        scale, offset = fit_calibration(scores[fit_on], labels[fit_on])
        crossed[~fit_on] = expit(scale * scores[~fit_on] + offset)
    a, b = current
    result: dict[str, float] = {}
    for name, probability in (("cross_fitted", crossed), ("current", expit(a * scores + b))):
        flagged, missed, half_total = error_rates(probability, labels, threshold)
        result |= {
            f"hter_{name}": half_total,
            f"genuine_flagged_{name}": flagged,
            f"spoof_missed_{name}": missed,
        }
    return result


def channel_fit_parser(doc: str | None) -> argparse.ArgumentParser:
    """The arguments of a fit on sources-kfold scores of channel copies: the training cache,
    the exported model, the channel caches' folder and the recipe."""
    ap = argparse.ArgumentParser(
        description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--cache", type=Path, required=True, help="the training cache (all sources)")
    ap.add_argument("--model-dir", type=Path, required=True, help="the exported model")
    ap.add_argument("--work", type=Path, required=True, help="where the channel caches go")
    ap.add_argument("--approach", default="fusion_ensemble")
    ap.add_argument("--exclude", default="librispeech")
    ap.add_argument("--epochs", type=int, default=6)
    return ap


def main(argv: list[str] | None = None) -> None:
    ap = channel_fit_parser(__doc__)
    ap.add_argument("--block", choices=sorted(CHANNEL_BLOCKS), default="band_limited")
    ap.add_argument("--per-class", type=int, default=15)
    ap.add_argument("--report", type=Path, help="write the scores and the check here (JSON)")
    ap.add_argument("--out", type=Path, required=True, help="the recalibrated model's folder")
    args = ap.parse_args(argv)
    sidecar = load_sidecar(args.model_dir / SIDECAR_FILE)
    lines, (applies_field, applies_db) = CHANNEL_BLOCKS[args.block]
    current = getattr(sidecar.calibration, args.block)
    if current is None:
        ap.error(f"{args.model_dir} has no {args.block} calibration to refit")
    train = ensure_features(args.cache, [args.approach])
    clips = sample_clips(train.clips, args.per_class)
    print(f"{len(clips)} clips through {', '.join(lines)}", file=sys.stderr)
    tests = channel_caches(clips, lines, args.work, args.approach)
    scores = sources_kfold_channel_scores(
        train, tests, args.approach, args.epochs, split_prefixes(args.exclude)
    )
    pooled = [v for line in lines for v in scores[line].values()]
    folds = np.array([f for f, _, _ in pooled])
    labels = np.array([y for _, y, _ in pooled])
    values = np.array([s for _, _, s in pooled])
    check = held_out_check(
        folds, values, labels, (current.scale, current.offset), sidecar.threshold
    )
    scale, offset = fit_calibration(values, labels)
    block: dict[str, Any] = {
        "scale": scale,
        "offset": offset,
        applies_field: applies_db,
        "fitted_on": (
            f"out-of-fold sources-kfold clip scores of the demo clips and of at most "
            f"{args.per_class} genuine and spoof clips per real-world source through "
            f"{', '.join(lines)} ({len(values)} scores), balanced class weights"
        ),
    }
    report = {
        "block": args.block,
        "clips": len(clips),
        "scores": len(values),
        "genuine": int((labels == 0).sum()),
        "spoof": int((labels == 1).sum()),
        "current": {"scale": current.scale, "offset": current.offset},
        "refitted": {"scale": scale, "offset": offset},
        **check,
    }
    print(json.dumps(report, indent=1))
    if args.report is not None:
        args.report.write_text(json.dumps(report | {"by_channel": scores}, indent=1))
    if args.out.resolve() != args.model_dir.resolve():
        shutil.copytree(args.model_dir, args.out, dirs_exist_ok=True)
    recalibrate_model(args.out, {args.block: block}, {})


if __name__ == "__main__":
    main()
