"""Grouped cross-validation protocols that hold whole sources out, for every approach.

- ``demos-loso``: leave one demo-page source repository out (11 folds). Training uses the
  other repositories plus all other data in the cache (LibriSpeech genuine speech, the
  generated corpus). Held-out clips are scored on their clean windows only.
- ``demos-4fold``: the same with the 11 repositories in 4 fixed groups (``DEMO_FOLDS``).
- ``corpus-logo`` / ``corpus-lofo``: leave one corpus generator / generator family out, scored
  against the genuine clips of the corpus's test speakers; test-split clips never train.
- ``corpus-indomain``: one fold, the corpus's test split (every generator, test speakers),
  trained on the train and dev splits.
- ``sources-kfold``: every demo-page source (the demos and the real-world corpus) goes to one
  of 10 folds by a hash of its name; each fold holds its sources out whole, so every source
  is scored by a model that never saw it (``per_group``: each fold; ``per_source`` in the
  report: each source). Leave-one-source-out in 10 fits instead of 84.
- ``families-lofo``: each spoof family of the real-world corpus held out in turn, scored
  against a fixed genuine pool (the genuine clips of the sources in hash folds 0 and 1),
  which no fold trains on. Run it with ``--exclude demos:,vocoded:`` so that no unlabelled
  family reaches training through the demos.
- ``realworld-unseen``: one fold that holds out every source of the real-world corpus, so a
  model trained on the rest (the demos, their vocoded copies; LibriSpeech unless excluded)
  is scored on 73 sources it never saw: what the bundled recipe does on them.

``--score-only PREFIX`` keeps only the held-out clips of those groups in the metrics (for
example ``realworld:``, to compare ``sources-kfold`` with ``realworld-unseen`` on the same
clips).

``--reference PREFIX`` holds the clips of those groups out of every fold and scores them with
every fold's model: a fixed genuine reference for held-out sources without genuine clips of
their own (three demo pages have none), scored by the same model as the held-out spoofs.

Clip score = mean of window logits. Metrics are pooled over the out-of-fold scores of all
folds. ``per_group`` / ``per_system`` compare a held-out source's spoofs with all out-of-fold
genuine clips (demos) or, where every fold scores the same genuine clips (corpus), with the
genuine scores of the same fold's model.

    python -m voxguard.training.detector.protocols --cache artifacts/cache.npz \
        --protocol demos-loso --approaches fusion,stats,baseline --out artifacts/demos_loso.json
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from voxguard.evaluation.metrics import eer, min_dcf, roc_auc
from voxguard.spoof.features import FeatureParams
from voxguard.training.detector.approaches import APPROACHES, fit_approach, window_logits
from voxguard.training.detector.data import (
    DERIVED_PREFIX,
    REALWORLD_PREFIX,
    FeatureCache,
    add_source_arguments,
    ensure_cache,
    refresh_stats,
    source_group,
    with_encoder_features,
    with_phase_features,
    with_summary_features,
)

# Whole source repositories per fold, for the approaches too slow for 11 folds on a CPU.
DEMO_FOLDS = {
    "speechresearch": ["demos:SpeechResearch"],
    "vocoders(icassp2021,univnet,fastdiff)": [
        "demos:kallavinka8045",
        "demos:mindslab-ai",
        "demos:FastDiff",
    ],
    "vocos,melgan,fragmentvc": ["demos:gemelo-ai", "demos:melgan-neurips", "demos:yistLin"],
    "zero-shot(seedtts,maskgct,firered,iaffvc)": [
        "demos:BytedanceSpeech",
        "demos:maskgct",
        "demos:FireRedTeam",
        "demos:kay9012",
    ],
}

Scorer = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (train_idx, test_idx) -> logits


PROTOCOLS = (
    "demos-loso",
    "demos-4fold",
    "corpus-logo",
    "corpus-lofo",
    "corpus-indomain",
    "sources-kfold",
    "families-lofo",
    "realworld-unseen",
)
SOURCE_FOLDS = 10
SOURCE_PREFIXES = ("demos:", REALWORLD_PREFIX)


def source_fold(group: str, folds: int = SOURCE_FOLDS) -> int:
    """A source's fold: stable across runs, machines and corpus versions."""
    return int(hashlib.sha1(group.encode()).hexdigest(), 16) % folds


def folds_for(
    cache: FeatureCache, protocol: str, reference: tuple[str, ...] = ()
) -> list[tuple[str, np.ndarray]]:
    """(name, boolean mask over clips that are held out) per fold."""
    groups = np.array([c.group for c in cache.clips])
    held_everywhere = np.array([bool(reference) and g.startswith(reference) for g in groups])
    return [(name, held | held_everywhere) for name, held in _folds(cache, protocol, groups)]


def _folds(cache: FeatureCache, protocol: str, groups: np.ndarray) -> list[tuple[str, np.ndarray]]:
    labels = np.array([c.label for c in cache.clips])
    if protocol == "demos-loso":
        names = sorted({g for g in groups if g.startswith("demos:")})
        return [(g, groups == g) for g in names]
    if protocol == "demos-4fold":
        return [(name, np.isin(groups, members)) for name, members in DEMO_FOLDS.items()]
    if protocol == "corpus-indomain":
        test = np.array(
            [
                g.startswith("corpus:") and c.split == "test"
                for g, c in zip(groups, cache.clips, strict=True)
            ]
        )
        return [("in-domain", test)]
    if protocol in ("corpus-logo", "corpus-lofo"):
        # Hold out one spoof generator (or family) at a time, scored against the genuine
        # clips of the corpus's test speakers; no test-split clip is ever trained on.
        corpus = np.array([g.startswith("corpus:") for g in groups])
        split = np.array([c.split for c in cache.clips])
        systems = np.array([c.system for c in cache.clips])
        key = systems if protocol == "corpus-logo" else np.array([s.split("/")[0] for s in systems])
        test_bona = corpus & (labels == 0) & (split == "test")
        names = sorted({k for k, c, y in zip(key, corpus, labels, strict=True) if c and y})
        return [(k, (corpus & (labels == 1) & (key == k)) | test_bona) for k in names]
    if protocol == "realworld-unseen":
        return [("realworld", np.array([g.startswith(REALWORLD_PREFIX) for g in groups]))]
    if protocol in ("sources-kfold", "families-lofo"):
        names = sorted({g for g in groups if g.startswith(SOURCE_PREFIXES)})
        fold_of = {g: source_fold(g) for g in names}
        if protocol == "sources-kfold":
            return [
                (f"fold{k}", np.isin(groups, [g for g in names if fold_of[g] == k]))
                for k in range(SOURCE_FOLDS)
            ]
        families = np.array(
            [
                c.system.split("/")[0] if c.label and c.group.startswith(REALWORLD_PREFIX) else ""
                for c in cache.clips
            ]
        )
        pool = [g for g in names if fold_of[g] in (0, 1)]
        genuine = (labels == 0) & np.isin(groups, pool)
        return [(f, (families == f) | genuine) for f in sorted(set(families.tolist()) - {""})]
    raise ValueError(f"unknown protocol {protocol}")


def make_scorers(cache: FeatureCache, epochs: int, seed: int = 0) -> dict[str, Scorer]:
    def scorer(approach: str) -> Scorer:
        def score(tr: np.ndarray, te: np.ndarray) -> np.ndarray:
            return window_logits(fit_approach(approach, cache, tr, epochs, seed), cache, te)

        return score

    return {approach: scorer(approach) for approach in APPROACHES}


def training_windows(
    cache: FeatureCache, held: np.ndarray, exclude: tuple[str, ...] = ()
) -> np.ndarray:
    """Indices of the windows a fold trains on: every window of a clip that is not held out,
    not in an excluded group, not a vocoded copy of a held-out source's clip, and not in the
    corpus's test split (clean and augmented)."""
    held_groups = {c.group for c, h in zip(cache.clips, held, strict=True) if h}
    excluded = np.array(
        [
            (bool(exclude) and c.group.startswith(exclude))
            or (c.group.startswith(DERIVED_PREFIX) and source_group(c.group) in held_groups)
            for c in cache.clips
        ]
    )
    test_split = np.array(
        [c.group.startswith("corpus:") and c.split == "test" for c in cache.clips]
    )
    keep = ~held & ~excluded & ~test_split
    return np.nonzero(keep[cache.window_clip])[0]


def scored_windows(cache: FeatureCache, held: np.ndarray) -> np.ndarray:
    """Indices of the windows a fold scores: the clean windows of its held-out clips."""
    return np.nonzero(held[cache.window_clip] & (cache.window_aug == 0))[0]


def clip_means(owners: np.ndarray, logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(clip indices, mean window logit per clip): the detector's documented aggregation."""
    clip_ids = np.unique(owners)
    return clip_ids, np.array([float(np.mean(logits[owners == c])) for c in clip_ids])


def run_protocol(
    cache: FeatureCache,
    protocol: str,
    scorer: Scorer,
    exclude: tuple[str, ...] = (),
    reference: tuple[str, ...] = (),
    score_only: tuple[str, ...] = (),
) -> dict[str, object]:
    """Out-of-fold clip scores and pooled metrics; ``exclude``: group prefixes never trained on;
    ``score_only``: group prefixes of the held-out clips the metrics count (all when empty).

    Every (fold, clip) score is kept. Where folds share genuine clips (the corpus protocols
    score the same test-split genuine clips in every fold), each fold's spoofs are compared
    with the genuine scores of the same fold's model, and the pooled metrics count each
    genuine clip once per fold. Where every clip is held out once (demos), a held-out group
    is compared with all out-of-fold genuine clips.
    """
    rows: list[tuple[int, str, float]] = []  # (clip, fold, clip score)
    for name, held in folds_for(cache, protocol, reference):
        tr = training_windows(cache, held, exclude)
        if score_only:
            held = held & np.array([c.group.startswith(score_only) for c in cache.clips])
        te = scored_windows(cache, held)
        if te.size == 0:
            continue
        t0 = time.time()
        clip_ids, means = clip_means(cache.window_clip[te], scorer(tr, te))
        rows += [(int(c), name, float(m)) for c, m in zip(clip_ids, means, strict=True)]
        print(f"  fold {name}: {time.time() - t0:.0f}s", file=sys.stderr, flush=True)
    return score_rows(cache, rows)


def score_rows(cache: FeatureCache, rows: list[tuple[int, str, float]]) -> dict[str, object]:
    """Pooled, per-group and per-system metrics from (clip, fold, score) rows."""
    idx = np.array([r[0] for r in rows], dtype=int)
    folds = np.array([r[1] for r in rows])
    s = np.array([r[2] for r in rows])
    lab = cache.clip_labels(idx)
    systems = np.array([cache.clips[i].system for i in idx])
    bona = lab == 0
    shared_genuine = len(set(idx[bona].tolist())) < int(bona.sum())
    result: dict[str, object] = {
        "clips": len(set(idx.tolist())),
        "eer": eer(s, lab),
        "min_dcf": min_dcf(s, lab),
        "auc": roc_auc(s, lab),
        "genuine_reference": "same fold" if shared_genuine else "all out-of-fold genuine clips",
    }

    def against_genuine(spoof: np.ndarray) -> float:
        reference = bona & np.isin(folds, folds[spoof]) if shared_genuine else bona
        return eer(
            np.r_[s[spoof], s[reference]],
            np.r_[np.ones(int(spoof.sum())), np.zeros(int(reference.sum()))],
        )

    per: dict[str, float] = {}
    for name in sorted(set(folds.tolist())):
        sel = (folds == name) & (lab == 1)
        if sel.any() and bona.any():
            per[name] = against_genuine(sel)
    result["per_group"] = per
    # Each source's spoofs against the genuine reference (a source's own genuine clips are
    # part of it), and their mean: the leave-sources-out figure per source.
    sources = np.array([cache.clips[i].group for i in idx])
    per_source = {
        g: against_genuine((sources == g) & (lab == 1))
        for g in sorted(set(sources[lab == 1].tolist()))
        if bona.any()
    }
    result["per_source"] = per_source
    result["mean_over_sources"] = float(np.mean(list(per_source.values()))) if per_source else 0.0
    per_system = {
        system: against_genuine((systems == system) & (lab == 1))
        for system in sorted(set(systems[lab == 1].tolist()))
        if bona.any()
    }
    result["per_system"] = per_system
    result["per_family_systems"] = family_means(per_system)
    # A clip scored in several folds (shared genuine clips) gets one entry per fold.
    repeats = collections.Counter(idx.tolist())
    scores: dict[str, float] = {}
    for i, fold, v in zip(idx, folds, s, strict=True):
        path = str(cache.clips[i].path)
        scores[path if repeats[int(i)] == 1 else f"{path}@{fold}"] = float(v)
    result["scores"] = scores
    return result


def family_means(per_system: dict[str, float]) -> dict[str, float]:
    """The mean EER over each family's systems; real-world systems are named
    "family/system" (systems without a family, such as the demos', are left out)."""
    return {
        family: float(np.mean([v for k, v in per_system.items() if k.startswith(family + "/")]))
        for family in sorted({k.split("/")[0] for k in per_system if "/" in k})
    }


def split_prefixes(text: str) -> tuple[str, ...]:
    return tuple(p for p in text.split(",") if p)


def ensure_features(path: Path, approaches: list[str]) -> FeatureCache:
    """Load a cache and add (and save) the on-demand features the approaches need."""
    cache = refresh_stats(FeatureCache.load(path))
    added = False
    needs_encoder = ("fusion", "views_mlp", "phase_ensemble", "family_ensemble", "nap_")
    if any(a.startswith(needs_encoder) for a in approaches) and cache.encoded is None:
        cache, added = with_encoder_features(cache, FeatureParams()), True
    if "baseline" in approaches and cache.summary is None:
        cache, added = with_summary_features(cache, FeatureParams()), True
    if "phase_ensemble" in approaches and cache.phase is None:
        cache, added = with_phase_features(cache), True
    if added:
        cache.save(path)
    return cache


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_source_arguments(ap)
    ap.add_argument("--protocol", default="demos-loso", choices=PROTOCOLS)
    ap.add_argument("--approaches", default="fusion,stats,baseline")
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--fit-seed", type=int, default=0, help="seed of the approaches that draw one")
    ap.add_argument("--exclude", default="", help="comma-separated group prefixes not trained on")
    ap.add_argument(
        "--reference",
        default="",
        help="comma-separated group prefixes held out of every fold and scored in each",
    )
    ap.add_argument(
        "--score-only", default="", help="comma-separated group prefixes the metrics count"
    )
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    ensure_cache(ap, args)
    cache = ensure_features(args.cache, args.approaches.split(","))
    scorers = make_scorers(cache, args.epochs, args.fit_seed)
    report: dict[str, object] = {"protocol": args.protocol, "cache": str(args.cache)}
    exclude = split_prefixes(args.exclude)
    reference = split_prefixes(args.reference)
    for name in args.approaches.split(","):
        print(f"{args.protocol} / {name}", file=sys.stderr, flush=True)
        res = run_protocol(
            cache, args.protocol, scorers[name], exclude, reference, split_prefixes(args.score_only)
        )
        report[name] = res
        print(
            f"{name}: EER {100 * float(res['eer']):.1f}%  AUC {float(res['auc']):.3f}  "  # type: ignore[arg-type]
            f"per group {json.dumps({k: round(100 * v, 1) for k, v in res['per_group'].items()})}",  # type: ignore[attr-defined]
            file=sys.stderr,
            flush=True,
        )
        args.out.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
