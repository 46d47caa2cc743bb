"""The spectrogram CNN on the real-world corpus, alone and in the ensemble (issue 18).

    OMP_NUM_THREADS=2 .venv/bin/python scripts/spoof_cnn_experiment.py \\
        --cache artifacts/cache_all.npz --out artifacts/cnn_experiment.json

Rule and results: docs/models/experiments/2026-12-06-cnn-on-the-corpus.md. The protocol,
``sources-2fold``, is ``sources-kfold`` with two folds instead of ten (the CNN trains for
about 15 minutes per fold here): the demo-page and real-world sources whose hash fold
(``protocols.source_fold``) is 0-4 are held out whole, then those in 5-9; training windows
and scored windows are chosen as in every protocol (``training_windows`` without LibriSpeech,
``scored_windows``), and a clip's score is the mean of its window logits. Each fold fits the
shipped read-out (``fusion_ensemble``), the CNN (``SpecCNN`` on the 128-band log
spectrogram, source-balanced draws) and the named baseline once, then scores the held-out
clips with each, and with the ensemble: both logits divided by their spread on the training
windows, summed (as ``fusion_ensemble`` sums its two heads).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from voxguard.evaluation.metrics import eer
from voxguard.training.detector.approaches import (
    _source_weights,
    fit_approach,
    window_logits,
)
from voxguard.training.detector.data import FeatureCache
from voxguard.training.detector.models import fit_cnn, predict_cnn
from voxguard.training.detector.protocols import (
    SOURCE_FOLDS,
    SOURCE_PREFIXES,
    clip_means,
    ensure_features,
    score_rows,
    scored_windows,
    source_fold,
    training_windows,
)

# A candidate fitted on a fold's training windows: its logit of any cache windows, the spread
# of its logits on the training windows, and a line for the log.
Fitted = tuple[Callable[[np.ndarray], np.ndarray], float, str]


def two_folds(cache: FeatureCache) -> list[tuple[str, np.ndarray]]:
    groups = np.array([c.group for c in cache.clips])
    names = sorted({g for g in groups if g.startswith(SOURCE_PREFIXES)})
    half = SOURCE_FOLDS // 2
    first = [g for g in names if source_fold(g) < half]
    second = [g for g in names if source_fold(g) >= half]
    return [("folds0-4", np.isin(groups, first)), ("folds5-9", np.isin(groups, second))]


def family_eers(cache: FeatureCache, result: dict[str, object]) -> dict[str, float]:
    """Each real-world spoof family's clips against every out-of-fold genuine clip."""
    by_path = {str(c.path): c for c in cache.clips}
    scores = result["scores"]
    assert isinstance(scores, dict)
    genuine = np.array([v for p, v in scores.items() if by_path[p].label == 0])
    families: dict[str, list[float]] = {}
    for path, value in scores.items():
        clip = by_path[path]
        if clip.label == 1 and clip.group.startswith("realworld:"):
            families.setdefault(clip.system.split("/")[0], []).append(value)
    return {
        f: 100.0 * eer(np.r_[v, genuine], np.r_[np.ones(len(v)), np.zeros(genuine.size)])
        for f, v in sorted(families.items())
    }


def add_clip_rows(
    rows: dict[str, list[tuple[int, str, float]]],
    cache: FeatureCache,
    scored: np.ndarray,
    fold: str,
    logits: dict[str, np.ndarray],
) -> None:
    """Each read-out's clip scores (mean window logit) of a fold's scored windows."""
    for readout, window_logit in logits.items():
        clip_ids, means = clip_means(cache.window_clip[scored], window_logit)
        pairs = zip(clip_ids, means, strict=True)
        rows[readout] += [(int(c), fold, float(m)) for c, m in pairs]


def compare_on_two_folds(
    cache: FeatureCache, name: str, fit: Callable[[str, np.ndarray, np.ndarray], Fitted]
) -> dict[str, object]:
    """``sources-2fold``: in each fold the shipped read-out, the candidate ``name`` (``fit`` on
    the fold's name, its training windows and their labels), both summed as ``ensemble`` (each
    logit divided by its spread on the training windows), and the baseline; then each
    read-out's metrics."""
    rows: dict[str, list[tuple[int, str, float]]] = {
        r: [] for r in ("fusion_ensemble", name, "ensemble", "baseline")
    }
    for fold, held in two_folds(cache):
        t0 = time.time()
        tr = training_windows(cache, held, ("librispeech",))
        te = scored_windows(cache, held)
        labels = cache.clip_labels(cache.window_clip[tr])
        fused = fit_approach("fusion_ensemble", cache, tr)
        predict, spread, note = fit(fold, tr, labels)
        baseline = fit_approach("baseline", cache, tr)
        fused_spread = float(window_logits(fused, cache, tr).std()) + 1e-6
        logits = {
            "fusion_ensemble": window_logits(fused, cache, te),
            name: predict(te),
            "baseline": window_logits(baseline, cache, te),
        }
        logits["ensemble"] = logits["fusion_ensemble"] / fused_spread + logits[name] / spread
        add_clip_rows(rows, cache, te, fold, logits)
        print(
            f"{fold}: {tr.size} training windows, {te.size} scored, {note}, "
            f"{time.time() - t0:.0f} s",
            file=sys.stderr,
            flush=True,
        )
    return summarise(cache, rows)


def summarise(
    cache: FeatureCache, rows: dict[str, list[tuple[int, str, float]]]
) -> dict[str, object]:
    """Each read-out's metrics and per-family EERs, one line of it printed per read-out."""
    out: dict[str, object] = {}
    for readout, readout_rows in rows.items():
        result = score_rows(cache, readout_rows)
        families = family_eers(cache, result)
        result["per_family"] = families
        out[readout] = result
        print(
            f"{readout:16s} pooled EER {100 * float(result['eer']):5.1f}%  mean over sources "
            f"{100 * float(result['mean_over_sources']):5.1f}%  vocoder family "
            f"{families.get('vocoder', float('nan')):5.1f}%"
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cache", type=Path, default=Path("artifacts/cache_all.npz"))
    ap.add_argument("--out", type=Path, default=Path("artifacts/cnn_experiment.json"))
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cache = ensure_features(args.cache, ["fusion_ensemble", "baseline"])

    def fit(fold: str, tr: np.ndarray, labels: np.ndarray) -> Fitted:
        cnn, report = fit_cnn(
            cache.specs[tr],
            labels,
            epochs=args.epochs,
            sample_weight=_source_weights(cache, tr, labels),
        )
        spread = float(predict_cnn(cnn, cache.specs[tr]).std()) + 1e-6
        loss = f"CNN loss {np.mean(report.losses[:50]):.3f} -> {np.mean(report.losses[-50:]):.3f}"
        return lambda windows: predict_cnn(cnn, cache.specs[windows]), spread, loss

    out = compare_on_two_folds(cache, "cnn", fit)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"protocol": "sources-2fold", "epochs": args.epochs, **out}))


if __name__ == "__main__":
    main()
