"""What the classical-TTS head changes on the demo pages' real deepfakes and genuine clips.

    OMP_NUM_THREADS=1 python bench/spoof_demos_head.py [--demos DIR] [--model-dir DIR] \
        [--spoof-step N]

Scores every clip of the demos manifest that passes the holdout guard with the bundled
detector once, and reports, at the detector's own thresholds, the genuine clips flagged and
the spoofs missed by the main model alone (the probability before the head is fused in,
which is what a sidecar without the head gives) and with the head, in the same run; plus
the clips whose verdict the head changed. ``--demos`` also takes the real-world corpus
(``make realworld-corpus``: the same manifest columns); ``--spoof-step N`` scores every Nth
spoof clip only (all genuine clips are scored).
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

from voxguard.audio import load_audio
from voxguard.errors import VoxGuardError
from voxguard.spoof import SpoofDetector
from voxguard.training.demopages.guarding import HoldoutGuard

DEMOS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "demos"


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--demos", type=Path, default=DEMOS)
    ap.add_argument("--model-dir", type=Path, help="another exported model (default: bundled)")
    ap.add_argument("--spoof-step", type=int, default=1, help="every Nth spoof clip (1: all)")
    args = ap.parse_args()
    detector = SpoofDetector(model_dir=args.model_dir, classical_head=True)
    guard = HoldoutGuard()
    counts: dict[str, dict[str, float]] = {
        label: {"clips": 0, "flagged_without_head": 0, "flagged_with_head": 0}
        for label in ("bonafide", "spoof")
    }
    dropped, refused, changed = 0, 0, []
    with (args.demos / "manifest.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    spoofs = [r for r in rows if r["label"] == "spoof"][:: max(args.spoof_step, 1)]
    rows = [r for r in rows if r["label"] != "spoof"] + spoofs
    for row in rows:
        clip = load_audio(args.demos / row["path"])
        if guard.clip_reason(clip.samples, row["source_repo"]) is not None:
            dropped += 1
            continue
        try:
            result = detector.detect_clip(clip)
        except VoxGuardError:
            refused += 1
            continue
        main = result.probability if result.main_probability is None else result.main_probability
        before, after = main >= result.threshold, result.is_spoof
        entry = counts[row["label"]]
        entry["clips"] += 1
        entry["flagged_without_head"] += int(before)
        entry["flagged_with_head"] += int(after)
        if before != after:
            changed.append({"path": row["path"], "label": row["label"], "system": row["system"]})
    for entry in counts.values():
        for key in ("flagged_without_head", "flagged_with_head"):
            entry[f"{key}_share"] = round(entry[key] / max(entry["clips"], 1), 4)
    report = {
        "model": detector.sidecar.version,
        "head": detector.classical_head is not None,
        "spoof_step": args.spoof_step,
        "guard_dropped": dropped,
        "refused": refused,
        **counts,
        "changed_by_head": changed,
    }
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
