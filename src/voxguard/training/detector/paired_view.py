"""A paired ranking head: each resynthesised copy beside its own recording (an experiment).

Vocoder and codec demo pages publish a recording and its copies under one utterance name.
A linear ranker fitted on the differences ``x_copy - x_genuine`` of such pairs (the clip's
mean clean-window statistics and encoder features of the feature cache) cannot learn what
the two share: speaker, words, room, sample rate, format, page. Under the sources-kfold
folds its score is added to the bundled recipe's out-of-fold logit (``stacking``).

Rule and results: ``docs/models/experiments/2026-12-06-paired-ranking-view.md``.

    python -m voxguard.training.detector.paired_view --cache artifacts/cache_all.npz \
        --corpus /work/realworld --base artifacts/high_band/base.json \
        --out artifacts/paired/report.json
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from voxguard.training.detector.protocols import source_fold
from voxguard.training.detector.stacking import (
    Fitter,
    Scorer,
    clip_features,
    fused_scores,
    metrics,
    scored_clips,
    stacking_parser,
    write_report,
)

PAIRED_FAMILIES = ("vocoder", "codec")
RANKER_C = 0.01


def pairs_of(rows: list[dict[str, str]]) -> np.ndarray:
    """(copy index, genuine index) for every copy of a paired family and every genuine clip
    of the same utterance on the same page."""
    genuine: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        if r["label"] == "bonafide" and r["utterance"]:
            genuine[(r["source_repo"], r["utterance"])].append(i)
    pairs = [
        (i, g)
        for i, r in enumerate(rows)
        if r["label"] == "spoof" and r["family"] in PAIRED_FAMILIES and r["utterance"]
        for g in genuine.get((r["source_repo"], r["utterance"]), [])
    ]
    return np.array(pairs, dtype=np.int64).reshape(-1, 2)


def ranker(x: np.ndarray, pairs: np.ndarray, groups: np.ndarray) -> Fitter:
    """The ranker's fitter for ``stacking.fused_scores``: fitted on the pairs whose two clips
    are both in the training mask, each source's pairs weighing the same."""

    def fit(train: np.ndarray) -> Scorer:
        use = pairs[train[pairs[:, 0]] & train[pairs[:, 1]]]
        if use.size == 0:
            raise ValueError("no pair of a copy and its recording in the training clips")
        mean = x[train].mean(axis=0)
        scale = x[train].std(axis=0) + 1e-6
        d = (x[use[:, 0]] - x[use[:, 1]]) / scale
        _, source_of, per_source = np.unique(
            groups[use[:, 0]], return_inverse=True, return_counts=True
        )
        w = 1.0 / per_source[source_of]
        model = LogisticRegression(C=RANKER_C, fit_intercept=False, max_iter=2000)
        model.fit(np.r_[d, -d], np.r_[np.ones(len(d)), np.zeros(len(d))], sample_weight=np.r_[w, w])
        coef = model.coef_.reshape(-1)
        return lambda mask: ((x[mask] - mean) / scale) @ coef

    return fit


def pair_accuracy(scores: np.ndarray, pairs: np.ndarray) -> float:
    """Share of pairs whose copy scores above its own recording."""
    return float(np.mean(scores[pairs[:, 0]] > scores[pairs[:, 1]])) if pairs.size else float("nan")


def evaluate(cache: Path, corpus: Path, base_report: Path, approach: str) -> dict[str, object]:
    c = scored_clips(corpus, base_report, approach)
    rows, y, groups, systems, b = c.rows, c.y, c.groups, c.systems, c.base
    x = clip_features(cache, c.paths)
    pairs = pairs_of(rows)
    everyone = np.ones(y.size, dtype=bool)
    view, fused, weights = fused_scores(ranker(x, pairs, groups), everyone, y, groups, b)
    fold = np.array([source_fold(g) for g in groups])
    family = c.family
    per_fold = {
        f"fold{k}": {
            fam: int(((fold[pairs[:, 0]] == k) & (family[pairs[:, 0]] == fam)).sum())
            for fam in PAIRED_FAMILIES
        }
        for k in sorted(set(fold.tolist()))
    }
    accuracy = {
        fam: {
            "base": pair_accuracy(b, pairs[family[pairs[:, 0]] == fam]),
            "paired": pair_accuracy(fused, pairs[family[pairs[:, 0]] == fam]),
        }
        for fam in PAIRED_FAMILIES
    }
    return {
        "clips": {"genuine": int((y == 0).sum()), "spoof": int((y == 1).sum())},
        "pairs_per_fold": per_fold,
        "weights": weights,
        "pair_accuracy": accuracy,
        "base": metrics(b, y, groups, systems),
        "paired": metrics(fused, y, groups, systems),
        "view_alone": metrics(view, y, groups, systems),
    }


def main(argv: list[str] | None = None) -> None:
    args = stacking_parser(__doc__).parse_args(argv)
    report = evaluate(args.cache, args.corpus, args.base, args.approach)
    write_report(args.out, report, ("base", "paired", "view_alone"))


if __name__ == "__main__":
    main()
