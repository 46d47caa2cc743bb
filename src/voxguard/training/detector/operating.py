"""Where a model's calibration puts its threshold on a protocol's out-of-fold scores.

    python -m voxguard.training.detector.operating --report artifacts/q.json \
        --approach fusion --model-dir src/voxguard/models/spoof --score-only realworld:

Maps the clip scores of one approach in a ``protocols`` report through the wideband
calibration of an exported model's sidecar and prints, as JSON: the share of genuine clips
flagged and of spoofs missed at the model's threshold, and the threshold at which
``--target-false-alarm`` of the genuine clips are flagged with the misses there. Only the
wideband calibration is applied (the service switches to its phone-line, band-limited or
short-speech block where a clip calls for one), so this describes wideband speech.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
from scipy.special import expit

from voxguard.evaluation.metrics import rates_at, threshold_at_false_alarm
from voxguard.spoof.sidecar import load_sidecar
from voxguard.training.detector.export import SIDECAR_FILE


def operating_point(
    scores: np.ndarray,
    labels: np.ndarray,
    scale: float,
    offset: float,
    threshold: float,
    target_false_alarm: float,
) -> dict[str, Any]:
    """Rates at ``threshold`` of P(synthetic) = sigmoid(scale * score + offset), and the
    lowest threshold that flags at most ``target_false_alarm`` of the genuine clips."""
    p = expit(scale * scores + offset)
    genuine, spoof = p[labels == 0], p[labels == 1]
    if genuine.size == 0 or spoof.size == 0:
        raise ValueError("operating points need genuine and spoof clips")
    at_target = threshold_at_false_alarm(p, labels, target_false_alarm)
    (_, false_alarm, miss), (_, false_alarm_at_target, miss_at_target) = rates_at(
        p, labels, [threshold, at_target]
    )
    return {
        "genuine": int(genuine.size),
        "spoof": int(spoof.size),
        "threshold": threshold,
        "false_alarm": false_alarm,
        "miss": miss,
        "target_false_alarm": target_false_alarm,
        "threshold_at_target": at_target,
        "false_alarm_at_target": false_alarm_at_target,
        "miss_at_target": miss_at_target,
    }


def report_scores(
    report: dict[str, Any], approach: str, clips: dict[str, tuple[str, int]], score_only: str
) -> tuple[np.ndarray, np.ndarray]:
    """(scores, labels) of one approach's out-of-fold clips whose group starts with
    ``score_only`` (all when empty); ``clips``: path -> (group, label)."""
    scores: dict[str, float] = report[approach]["scores"]
    keys = sorted(k for k in scores if clips[k.split("@")[0]][0].startswith(score_only))
    labels = np.array([clips[k.split("@")[0]][1] for k in keys])
    return np.array([scores[k] for k in keys]), labels


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--report", type=Path, required=True, help="a protocols --out JSON file")
    ap.add_argument("--approach", required=True, help="the approach whose scores to map")
    ap.add_argument("--model-dir", type=Path, required=True, help="an exported model")
    ap.add_argument("--cache", type=Path, help="the cache (labels); default: the report's")
    ap.add_argument("--score-only", default="", help="keep clips whose group starts with this")
    ap.add_argument("--target-false-alarm", type=float, default=0.05)
    args = ap.parse_args(argv)
    from voxguard.training.detector.data import FeatureCache

    report = json.loads(args.report.read_text())
    if args.approach not in report:
        ap.error(f"{args.report} has no scores of {args.approach!r}")
    cache = FeatureCache.load(args.cache or Path(report["cache"]))
    clips = {str(c.path): (c.group, c.label) for c in cache.clips}
    scores, labels = report_scores(report, args.approach, clips, args.score_only)
    sidecar = load_sidecar(args.model_dir / SIDECAR_FILE)
    result = operating_point(
        scores,
        labels,
        sidecar.calibration.scale,
        sidecar.calibration.offset,
        sidecar.threshold,
        args.target_false_alarm,
    )
    print(json.dumps({"model": sidecar.version, **result}, indent=1))


if __name__ == "__main__":
    main()
