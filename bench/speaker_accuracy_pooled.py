"""Pooled speaker-verification accuracy over several bench draws (more target trials).

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python bench/speaker_accuracy_pooled.py --seeds 7 13 21

Reads the embedding caches that `bench/speaker_accuracy.py --seed S` writes under artifacts/
(run those first). For every seed, both folds are scored exactly as that bench does (back end
fitted on the other fold); the scores of all seeds are pooled per condition, so each condition
has 223 x len(seeds) target trials. Caveat: the clean test is the same second half of each
utterance in every seed (only the folds, hence the back end and the non-target pairs, differ),
so clean target trials are not independent across seeds; the 2 s cut, the babble talkers and
the folds are redrawn. The 95 % interval of the ratio is a bootstrap over trials (target and
non-target resampled separately, 1,000 rounds).

Also scores path variants on the same pooled trials (WCCN choice, AS-norm cohort and top-k)
for the clean and 2 s conditions, and for phone and babble as a guard.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from voxguard.evaluation.metrics import eer
from voxguard.speaker.scoring import AsNorm
from voxguard.speaker.training.backend_fit import (
    BENCH_CONDITIONS,
    TEST_CONDITIONS,
    fit_backend,
    score_conditions,
    speaker_folds,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from speaker_accuracy import ROOT, load_tables

# (wccn, cohort, top_k) per variant; cohort None = no AS-norm.
VARIANTS: dict[str, tuple[str, str | None, int]] = {
    "long, none": ("long", None, 0),
    "long, AS-norm top 50": ("long", "clean", 50),
    "long, AS-norm top 200": ("long", "clean", 200),
    "short, none": ("short", None, 0),
    "short, AS-norm top 20": ("short", "clean", 20),
    "short, AS-norm top 50": ("short", "clean", 50),
    "short, AS-norm top 200": ("short", "clean", 200),
}


def variant_scores(table, trial, fitted, condition, wccn_name, cohort_name, top_k):  # type: ignore[no-untyped-def]
    enroll_view, _ = TEST_CONDITIONS[condition]
    if condition == "phone" and cohort_name is not None:
        cohort_name = "phone"
    wccn = fitted.wccns[wccn_name]
    enroll = wccn.apply(np.stack([table[s][enroll_view] for s in trial]).astype(np.float32))
    test = wccn.apply(np.stack([table[s][f"test_{condition}"] for s in trial]).astype(np.float32))
    raw = enroll @ test.T
    if cohort_name is not None:
        cohort = AsNorm(wccn.apply(fitted.cohorts[cohort_name]), top_k)
        e_mean, e_std = cohort.stats_many(enroll)
        t_mean, t_std = cohort.stats_many(test)
        raw = 0.5 * (
            (raw - e_mean[:, None]) / e_std[:, None] + (raw - t_mean[None, :]) / t_std[None, :]
        )
    return raw.reshape(-1).astype(np.float64), np.eye(len(trial), dtype=bool).reshape(-1)


def boot_ratio(ours, base, rng, rounds=1000):  # type: ignore[no-untyped-def]
    """95 % bootstrap interval of EER(ours) / EER(base); same resampled trials for both."""
    (s_o, y), (s_b, _) = ours, base
    tgt, non = np.flatnonzero(y), np.flatnonzero(~y)
    ratios = []
    for _ in range(rounds):
        idx = np.concatenate([rng.choice(tgt, tgt.size), rng.choice(non, non.size)])
        b = eer(s_b[idx], y[idx])
        if b > 0:
            ratios.append(eer(s_o[idx], y[idx]) / b)
    return np.percentile(ratios, [2.5, 97.5])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, nargs="+", default=[7, 13, 21])
    parser.add_argument("--readers", type=int, default=223)
    parser.add_argument(
        "--swap-seeds",
        type=int,
        nargs="*",
        default=[],
        help="also pool these seeds' --swap-halves runs (enroll second half, test first half)",
    )
    args = parser.parse_args()

    pooled: dict[str, dict[str, list[np.ndarray]]] = {}

    def add(key: str, condition: str, scores: np.ndarray, labels: np.ndarray) -> None:
        entry = pooled.setdefault(key, {}).setdefault(condition, [[], []])  # type: ignore[arg-type]
        entry[0].append(scores)
        entry[1].append(labels)

    runs = [(s, "") for s in args.seeds] + [(s, "_swap") for s in args.swap_seeds]
    for seed, swap in runs:
        ours, base = load_tables(
            ROOT / "artifacts" / f"speaker_bench_seed{seed}_{args.readers}{swap}.npz"
        )
        speakers = sorted(ours)
        folds = speaker_folds(speakers, seed)
        for fold in (0, 1):
            trial, fit = folds[fold], folds[1 - fold]
            fitted = fit_backend(ours, fit)
            for key, parts in (
                ("baseline", score_conditions(base, trial, None, BENCH_CONDITIONS)),
                ("voxguard", score_conditions(ours, trial, fitted, BENCH_CONDITIONS)),
            ):
                for c, cs in parts.items():
                    add(key, c, cs.scores, cs.labels)
            for name, (w, coh, k) in VARIANTS.items():
                for c in BENCH_CONDITIONS:
                    add(name, c, *variant_scores(ours, trial, fitted, c, w, coh, k))

    def joined(key: str, c: str) -> tuple[np.ndarray, np.ndarray]:
        s, y = pooled[key][c]
        return np.concatenate(s), np.concatenate(y)

    rng = np.random.default_rng(0)
    n_t = int(joined("baseline", "clean")[1].sum())
    print(f"runs {runs}: {n_t} target trials per condition (pooled)\n")
    print(f"{'condition':10s} {'baseline':>9s} {'VoxGuard':>9s} {'ratio':>6s}  95% CI of ratio")
    for c in BENCH_CONDITIONS:
        b, o = joined("baseline", c), joined("voxguard", c)
        eb, eo = 100 * eer(*b), 100 * eer(*o)
        lo, hi = boot_ratio(o, b, rng)
        print(f"{c:10s} {eb:9.2f} {eo:9.2f} {eo / eb:6.2f}  [{lo:.2f}, {hi:.2f}]")
    print("\npath variants, pooled EER % (ratio to baseline)")
    print(f"{'variant':26s} " + " ".join(f"{c:>13s}" for c in BENCH_CONDITIONS))
    for name in VARIANTS:
        cells = []
        for c in BENCH_CONDITIONS:
            e = 100 * eer(*joined(name, c))
            cells.append(f"{e:6.2f} ({e / (100 * eer(*joined('baseline', c))):.2f})")
        print(f"{name:26s} " + " ".join(f"{x:>13s}" for x in cells))


if __name__ == "__main__":
    main()
