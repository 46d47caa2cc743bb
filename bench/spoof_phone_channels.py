"""Unseen demo pages heard through phone lines: does the detector's approach still work on calls?

For each demos-loso fold (one source repository held out), the fold model is trained on the
windows of ``--cache`` exactly as ``protocols.py`` trains it, and scores its held-out clips
clean and through each phone line of ``TEST_PHONE_LINES`` (AMR-NB 12.2 kbit/s, G.711
mu-law, and G.723.1 at 6.3 kbit/s, a codec the training augmentation leaves out; each also
"+16bit", stored as a 16 kHz 16-bit file). The phone line is applied to the whole file
before the VAD, as a call would deliver it.

Per condition it prints the pooled out-of-fold EER and AUC and, through a calibration fitted
on the clean out-of-fold scores (the shipped recipe), the share of genuine clips flagged and
of spoofs missed at P = 0.5. The baseline is the clean condition: the same fold models, the
same clips, in the same run.

    OMP_NUM_THREADS=1 python bench/spoof_phone_channels.py --cache artifacts/cache_demos.npz \
        --work artifacts/phone_channels

The phone-line caches (``--work``/<line>.npz, a few minutes each) are built on first use.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from voxguard.evaluation.metrics import eer, roc_auc
from voxguard.spoof.features import FeatureParams
from voxguard.training.detector.approaches import APPROACHES, fit_approach
from voxguard.training.detector.augment import TEST_PHONE_LINES
from voxguard.training.detector.data import (
    FeatureCache,
    build_cache,
    demo_clips,
    with_encoder_features,
)
from voxguard.training.detector.models import Detector
from voxguard.training.detector.protocols import (
    ensure_features,
    folds_for,
    scored_windows,
    training_windows,
)
from voxguard.training.detector.train import clip_scores, fit_calibration

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def phone_cache(demos: Path, line: str, path: Path) -> FeatureCache:
    if not path.exists():
        params = FeatureParams()
        cache = build_cache(
            demo_clips(demos), params, augment_copies=0, channel=TEST_PHONE_LINES[line]
        )
        with_encoder_features(cache, params).save(path)
    return FeatureCache.load(path)


def held_out_scores(
    model: Detector, cache: FeatureCache, group: str
) -> dict[str, tuple[int, float]]:
    """(label, mean window logit) per held-out clip of ``group``, keyed by folder/file name."""
    held = np.array([c.group == group for c in cache.clips])
    ids, means = clip_scores(cache, model, scored_windows(cache, held))
    return {
        f"{cache.clips[i].path.parent.name}/{cache.clips[i].path.name}": (
            cache.clips[i].label,
            float(m),
        )
        for i, m in zip(ids, means, strict=True)
    }


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--cache", type=Path, required=True, help="the training cache (demos)")
    ap.add_argument("--demos", type=Path, default=SHARED / "demos")
    ap.add_argument("--work", type=Path, default=Path("artifacts/phone_channels"))
    ap.add_argument("--approach", choices=APPROACHES, default="fusion")
    ap.add_argument("--lines", default=",".join(TEST_PHONE_LINES), help="comma-separated")
    args = ap.parse_args()
    lines = [line for line in args.lines.split(",") if line]
    unknown = set(lines) - set(TEST_PHONE_LINES)
    if unknown:
        ap.error(f"unknown lines {sorted(unknown)}; accepted: {', '.join(TEST_PHONE_LINES)}")
    args.work.mkdir(parents=True, exist_ok=True)
    train = ensure_features(args.cache, [args.approach])
    tests = {"clean": train} | {
        line: phone_cache(args.demos, line, args.work / f"{line}.npz") for line in lines
    }
    for line, cache in tests.items():
        if line != "clean" and cache.encoded is None:
            raise SystemExit(f"{args.work / line}.npz has no encoder features: delete it")
    scores: dict[str, dict[str, tuple[int, float]]] = {name: {} for name in tests}
    for group, held in folds_for(train, "demos-loso"):
        model = fit_approach(args.approach, train, training_windows(train, held))
        for name, cache in tests.items():
            scores[name] |= held_out_scores(model, cache, group)
    # Clips every condition scored (a phone line can leave a clip too little speech).
    common = sorted(set.intersection(*(set(s) for s in scores.values())))
    labels = np.array([scores["clean"][k][0] for k in common])
    clean = np.array([scores["clean"][k][1] for k in common])
    scale, offset = fit_calibration(clean, labels)
    report: dict[str, object] = {
        "cache": str(args.cache),
        "approach": args.approach,
        "clips": len(common),
        "calibration": {"scale": scale, "offset": offset, "fitted_on": "clean out-of-fold"},
    }
    for name in tests:
        s = np.array([scores[name][k][1] for k in common])
        p = 1.0 / (1.0 + np.exp(-(scale * s + offset)))
        report[name] = {
            "eer": round(100 * eer(s, labels), 1),
            "auc": round(roc_auc(s, labels), 3),
            "genuine_flagged": round(100 * float((p[labels == 0] >= 0.5).mean()), 1),
            "spoofs_missed": round(100 * float((p[labels == 1] < 0.5).mean()), 1),
        }
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
