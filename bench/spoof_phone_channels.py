"""Unseen demo pages heard through phone lines: does the detector's approach still work on calls?

For each demos-loso fold (one source repository held out), the fold model is trained on the
windows of ``--cache`` exactly as ``protocols.py`` trains it, and scores its held-out clips
clean and through each phone line of ``TEST_PHONE_LINES`` (AMR-NB 12.2 kbit/s, G.711
mu-law, and G.723.1 at 6.3 kbit/s, a codec the training augmentation leaves out; each also
"+16bit", stored as a 16 kHz 16-bit file); ``--lines`` also takes the compressed uploads
of ``TEST_UPLOAD_CODECS`` (MP3 64 kbit/s, Opus 24 kbit/s, AAC 64 kbit/s) and the wideband
limits of ``TEST_WIDEBAND_LIMITS`` (a 7 kHz low-pass, an HD-voice call through G.722). The
channel is applied to the whole file before the VAD, as a call or an upload would deliver it.

Per condition it prints the pooled out-of-fold EER and AUC and the share of genuine clips
flagged and of spoofs missed at P = 0.5, through two calibrations: one fitted on the clean
out-of-fold scores (``_clean_cal``, what the detector applies to wideband audio) and one
fitted on the out-of-fold scores through the AMR-NB and G.711 lines (``_narrowband_cal``,
what it applies to phone lines; G.723.1 is never fitted on). The baseline is the clean
condition: the same fold models, the same clips, in the same run. ``cllr_*`` measures each
calibration as a whole (1.0 = no information; lower is better).

    OMP_NUM_THREADS=1 python bench/spoof_phone_channels.py \
        --cache artifacts/cache_demos_vocoded.npz --work artifacts/phone_channels

The phone-line caches (``--work``/<line>.npz, a few minutes each) are built on first use.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from voxguard.evaluation.metrics import cllr, eer, roc_auc
from voxguard.training.detector.approaches import APPROACHES
from voxguard.training.detector.augment import TEST_CHANNELS, TEST_PHONE_LINES
from voxguard.training.detector.protocols import ensure_features
from voxguard.training.detector.train import (
    NARROWBAND_CALIBRATION_LINES,
    demo_test_cache,
    demos_loso_scores,
    fit_calibration,
    line_calibration,
)

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--cache", type=Path, required=True, help="the training cache (demos)")
    ap.add_argument("--demos", type=Path, default=SHARED / "demos")
    ap.add_argument("--work", type=Path, default=Path("artifacts/phone_channels"))
    ap.add_argument("--approach", choices=APPROACHES, default="fusion")
    ap.add_argument(
        "--lines",
        default=",".join(TEST_PHONE_LINES),
        help=f"comma-separated, of: {', '.join(TEST_CHANNELS)} (default: the phone lines)",
    )
    args = ap.parse_args()
    lines = [line for line in args.lines.split(",") if line]
    unknown = set(lines) - set(TEST_CHANNELS)
    if unknown:
        ap.error(f"unknown lines {sorted(unknown)}; accepted: {', '.join(TEST_CHANNELS)}")
    train = ensure_features(args.cache, [args.approach])
    tests = {"clean": train} | {
        line: demo_test_cache(args.demos, args.work / f"{line}.npz", line) for line in lines
    }
    scores = demos_loso_scores(train, tests, args.approach).by_cache
    # Clips every condition scored (a phone line can leave a clip too little speech).
    common = sorted(set.intersection(*(set(s) for s in scores.values())))
    labels = np.array([scores["clean"][k][0] for k in common])
    clean = np.array([scores["clean"][k][1] for k in common])
    scale, offset = fit_calibration(clean, labels)
    calibrations = {"clean": (scale, offset)}
    fitted = [line for line in NARROWBAND_CALIBRATION_LINES if line in tests]
    if fitted:
        scale, offset, _ = line_calibration(scores, fitted, common)
        calibrations["narrowband"] = (scale, offset)
    report: dict[str, object] = {
        "cache": str(args.cache),
        "approach": args.approach,
        "clips": len(common),
        "calibration": {
            "clean": "fitted on the clean out-of-fold scores (the shipped recipe)",
            "narrowband": f"fitted on the out-of-fold scores through {', '.join(fitted)} "
            "(the shipped recipe for phone lines; in sample for those lines, not for others)",
        },
    }
    for name in tests:
        s = np.array([scores[name][k][1] for k in common])
        row: dict[str, float] = {
            "eer": round(100 * eer(s, labels), 1),
            "auc": round(roc_auc(s, labels), 3),
        }
        for cal_name, (a, b) in calibrations.items():
            if cal_name == "narrowband" and name == "clean":
                continue
            p = 1.0 / (1.0 + np.exp(-(a * s + b)))
            flagged = float(np.mean(p[labels == 0] >= 0.5))
            missed = float(np.mean(p[labels == 1] < 0.5))
            row[f"genuine_flagged_{cal_name}_cal"] = round(100 * flagged, 1)
            row[f"spoofs_missed_{cal_name}_cal"] = round(100 * missed, 1)
            row[f"cllr_{cal_name}_cal"] = round(cllr(a * s + b, labels), 3)
        report[name] = row
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
