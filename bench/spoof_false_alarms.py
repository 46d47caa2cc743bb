"""How often the bundled spoof detector flags genuine speech it was not trained on.

Scores every LibriSpeech file and every 10th FSDD file in ../shared/data with
``SpoofDetector().detect`` and prints, per source, the share flagged at the sidecar's
threshold and the median calibrated probability. Genuine-only sets have no EER; this is the
false-alarm side that ``voxguard eval cm`` cannot show.

    OMP_NUM_THREADS=1 python bench/spoof_false_alarms.py [--model-dir DIR] [--fsdd-step 10]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from voxguard.errors import VoxGuardError
from voxguard.spoof import SpoofDetector

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--model-dir", type=Path, help="another exported model (default: bundled)")
    ap.add_argument("--fsdd-step", type=int, default=10)
    args = ap.parse_args()
    detector = SpoofDetector(model_dir=args.model_dir)
    sources = {
        "librispeech": sorted((SHARED / "librispeech").glob("*.flac")),
        "fsdd": sorted((SHARED / "fsdd").glob("*.wav"))[:: args.fsdd_step],
    }
    report: dict[str, object] = {
        "model": detector.sidecar.version,
        "threshold": detector.sidecar.threshold,
    }
    for name, paths in sources.items():
        probabilities, refused = [], 0
        for path in paths:
            try:
                probabilities.append(detector.detect(path).probability)
            except VoxGuardError:  # too little speech for a window
                refused += 1
        p = np.array(probabilities)
        report[name] = {
            "files": len(paths),
            "scored": int(p.size),
            "refused": refused,
            "flagged_share": round(float((p >= detector.sidecar.threshold).mean()), 3)
            if p.size
            else None,
            "median_probability": round(float(np.median(p)), 3) if p.size else None,
        }
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
