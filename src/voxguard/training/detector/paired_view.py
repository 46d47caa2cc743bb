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

import argparse
import csv
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.linear_model import LogisticRegression

from voxguard.training.detector.data import REALWORLD_PREFIX
from voxguard.training.detector.protocols import source_fold
from voxguard.training.detector.stacking import (
    Fitter,
    Scorer,
    base_scores,
    fused_scores,
    metrics,
    summary_line,
)

PAIRED_FAMILIES = ("vocoder", "codec")
RANKER_C = 0.01


def clip_features(cache: Path, paths: list[str]) -> np.ndarray:
    """Each clip's mean over its clean windows of the statistics and encoder features."""
    with np.load(cache) as z:
        clip_path = z["clip_path"]
        window_clip = z["window_clip"]
        clean = z["window_aug"] == 0
        views = np.concatenate([z["stats"], z["encoded"]], axis=1)[clean]
    at = {p: i for i, p in enumerate(clip_path.tolist())}
    missing = [p for p in paths if p not in at]
    if missing:
        raise KeyError(f"{len(missing)} clips are not in {cache}, for example {missing[0]}")
    row_of = np.full(clip_path.size, -1)
    row_of[[at[p] for p in paths]] = np.arange(len(paths))
    rows = row_of[window_clip[clean]]
    keep = rows >= 0
    member = sparse.csr_matrix(
        (np.ones(int(keep.sum())), (rows[keep], np.nonzero(keep)[0])),
        shape=(len(paths), views.shape[0]),
    )
    counts = np.asarray(member.sum(axis=1)).reshape(-1)
    if (counts == 0).any():
        raise ValueError(f"{int((counts == 0).sum())} clips have no clean window in {cache}")
    return np.asarray(member @ views.astype(np.float64)) / counts[:, None]


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
    base = base_scores(base_report, approach)
    root = str(corpus).rstrip("/") + "/"
    rows = [r for r in csv.DictReader((corpus / "manifest.csv").open()) if root + r["path"] in base]
    y = np.array([int(r["label"] == "spoof") for r in rows])
    groups = np.array([REALWORLD_PREFIX + r["source_repo"] for r in rows])
    systems = np.array(
        [f"{r['family']}/{r['system']}" if r["label"] == "spoof" else "human" for r in rows]
    )
    b = np.array([base[root + r["path"]] for r in rows])
    x = clip_features(cache, [root + r["path"] for r in rows])
    pairs = pairs_of(rows)
    everyone = np.ones(y.size, dtype=bool)
    view, fused, weights = fused_scores(ranker(x, pairs, groups), everyone, y, groups, b)
    fold = np.array([source_fold(g) for g in groups])
    family = np.array([r["family"] for r in rows])
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
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--cache", type=Path, required=True)
    ap.add_argument("--corpus", type=Path, required=True)
    ap.add_argument("--base", type=Path, required=True, help="a protocols sources-kfold report")
    ap.add_argument("--approach", default="fusion_ensemble")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    report = evaluate(args.cache, args.corpus, args.base, args.approach)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1))
    for name in ("base", "paired", "view_alone"):
        print(summary_line(name, report[name]), file=sys.stderr)  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
