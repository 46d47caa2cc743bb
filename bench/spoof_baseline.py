"""The named baseline beside the detector's approach on a leave-sources-out protocol.

The baseline is the classic recipe many projects ship: 26 librosa summary features (chroma,
RMS, spectral centroid / bandwidth / rolloff, zero-crossing rate, 20 MFCC means;
``voxguard.spoof.features.summary_features``) and a 200-tree scikit-learn RandomForest
(``voxguard.training.detector.models.fit_baseline``). It sees the same level-normalised 4 s
speech windows as the detector, its window probabilities become logits that are averaged per
file, and both are trained and scored on the same folds in the same run.

    python bench/spoof_baseline.py --cache artifacts/cache_demos_vocoded.npz --protocol demos-loso

Needs the ``train`` extra and a feature cache from ``voxguard.training.detector.train``.
``voxguard.training.detector.reproduce`` exports the same fold models for ``voxguard eval cm``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from voxguard.training.detector.protocols import (
    PROTOCOLS,
    ensure_features,
    make_scorers,
    run_protocol,
    split_prefixes,
)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--cache", type=Path, required=True)
    ap.add_argument("--protocol", choices=PROTOCOLS, default="demos-loso")
    ap.add_argument("--approach", default="fusion", help="the detector's approach")
    ap.add_argument("--exclude", default="", help="group prefixes never trained on")
    ap.add_argument("--reference", default="", help="group prefixes held out of every fold")
    args = ap.parse_args()
    approaches = [args.approach, "baseline"]
    cache = ensure_features(args.cache, approaches)
    scorers = make_scorers(cache, epochs=6)
    report: dict[str, object] = {"protocol": args.protocol}
    for name in approaches:
        result = run_protocol(
            cache,
            args.protocol,
            scorers[name],
            split_prefixes(args.exclude),
            split_prefixes(args.reference),
        )
        report[name] = {
            "eer_percent": round(100 * float(result["eer"]), 2),  # type: ignore[arg-type]
            "auc": round(float(result["auc"]), 4),  # type: ignore[arg-type]
            "per_group_eer_percent": {
                k: round(100 * v, 1)
                for k, v in result["per_group"].items()  # type: ignore[attr-defined]
            },
        }
    detector, baseline = report[args.approach], report["baseline"]
    report["detector_vs_baseline_eer_ratio"] = round(
        detector["eer_percent"] / baseline["eer_percent"],  # type: ignore[index]
        3,
    )
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
