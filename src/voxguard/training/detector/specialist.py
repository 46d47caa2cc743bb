"""A vocoder specialist head stacked on the bundled recipe (an experiment).

A standardised logistic regression on each clip's mean clean-window statistics and encoder
features, fitted on genuine clips and vocoder-family spoofs only, its logit added to the
bundled recipe's out-of-fold logit under the sources-kfold folds (``stacking``).

Rule and results: ``docs/models/experiments/2026-12-06-vocoder-specialist-head.md``.

    python -m voxguard.training.detector.specialist --cache artifacts/cache_all.npz \
        --corpus /work/realworld --base artifacts/high_band/base.json \
        --out artifacts/specialist/report.json
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from voxguard.training.detector.stacking import (
    Fitter,
    Scorer,
    balanced_logistic,
    clip_features,
    fused_scores,
    metrics,
    scored_clips,
    stacking_parser,
    write_report,
)

SPECIAL_FAMILY = "vocoder"
HEAD_C = 0.01


def specialist(x: np.ndarray, y: np.ndarray, groups: np.ndarray, family: np.ndarray) -> Fitter:
    """The head's fitter for ``stacking.fused_scores``: genuine training clips against the
    training clips of ``SPECIAL_FAMILY`` only."""

    def fit(train: np.ndarray) -> Scorer:
        use = train & ((y == 0) | (family == SPECIAL_FAMILY))
        if len(set(y[use].tolist())) < 2:
            raise ValueError(f"no {SPECIAL_FAMILY} spoof or no genuine clip in the training clips")
        logit = balanced_logistic(x[use], y[use], groups[use], HEAD_C, max_iter=3000)
        return lambda mask: logit(x[mask])

    return fit


def evaluate(
    cache: Path,
    corpus: Path,
    base_report: Path,
    approach: str,
    gate_quantile: float | None = None,
) -> dict[str, object]:
    c = scored_clips(corpus, base_report, approach)
    y, groups, family, systems, b = c.y, c.groups, c.family, c.systems, c.base
    x = clip_features(cache, c.paths)
    everyone = np.ones(y.size, dtype=bool)
    head, fused, weights = fused_scores(
        specialist(x, y, groups, family), everyone, y, groups, b, gate_quantile
    )
    return {
        "clips": {"genuine": int((y == 0).sum()), "spoof": int((y == 1).sum())},
        "special_family_clips": int((family == SPECIAL_FAMILY).sum()),
        "weights": weights,
        "gate_quantile": gate_quantile,
        "base": metrics(b, y, groups, systems),
        "specialist": metrics(fused, y, groups, systems),
        "head_alone": metrics(head, y, groups, systems),
    }


def main(argv: list[str] | None = None) -> None:
    ap = stacking_parser(__doc__)
    ap.add_argument(
        "--gate-quantile",
        type=float,
        help="let the head only raise a score, above this quantile of training genuine logits",
    )
    args = ap.parse_args(argv)
    if args.gate_quantile is not None and not 0.0 < args.gate_quantile < 1.0:
        ap.error(f"--gate-quantile must lie between 0 and 1, not {args.gate_quantile}")
    report = evaluate(args.cache, args.corpus, args.base, args.approach, args.gate_quantile)
    write_report(args.out, report, ("base", "specialist", "head_alone"))


if __name__ == "__main__":
    main()
