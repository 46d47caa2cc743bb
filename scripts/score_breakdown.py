"""Where a protocol report's errors are: every real-world clip's out-of-fold score joined with
the corpus manifest, at the report's own pooled EER threshold; genuine clips flagged and
spoofs missed, per group (a manifest column, or ``kind``: a clip's first folder under its
page's data folder, e.g. FreeCodec-Demo's ``speex`` or ``target``).

    python scripts/score_breakdown.py --report artifacts/seeds/full-seed4.json \
        --manifest /work/realworld/manifest.csv --by source_format [--repo OWNER/NAME] \
        [--without OWNER/NAME ...]

``--without``: those sources are left out first (the pooled EER and its threshold are then
the rest's).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from voxguard.evaluation.metrics import detection_curve, eer


def joined(report: Path, approach: str, manifest: Path) -> pd.DataFrame:
    scores = pd.Series(json.loads(report.read_text())[approach]["scores"], name="score")
    rows = pd.read_csv(manifest)
    rows.index = [str(manifest.parent / p) for p in rows["path"]]
    clips = rows.join(scores, how="inner")
    if clips.empty:
        raise SystemExit(f"no clip of {manifest} is scored in {report} ({approach})")
    parts = clips["source_path"].str.split("/")
    clips["kind"] = [p[1] if len(p) > 2 else p[0] for p in parts]
    return clips


def breakdown(clips: pd.DataFrame, by: str, threshold: float) -> pd.DataFrame:
    flagged = clips["score"] >= threshold
    spoof = clips["label"] == "spoof"
    table = pd.DataFrame(
        {
            "genuine": (~spoof).groupby(clips[by]).sum(),
            "flagged %": 100 * flagged[~spoof].groupby(clips[by][~spoof]).mean(),
            "spoof": spoof.groupby(clips[by]).sum(),
            "missed %": 100 * (~flagged[spoof]).groupby(clips[by][spoof]).mean(),
        }
    )
    return table.sort_values(["flagged %", "genuine"], ascending=False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--report", type=Path, required=True, help="protocols --out JSON")
    ap.add_argument("--approach", default="fusion_ensemble")
    ap.add_argument("--manifest", type=Path, required=True, help="real-world corpus manifest")
    ap.add_argument("--by", default="source_repo", help="a manifest column, or kind")
    ap.add_argument("--repo", help="only this source (OWNER/NAME)")
    ap.add_argument("--without", nargs="+", default=[], help="leave these sources out first")
    args = ap.parse_args()
    clips = joined(args.report, args.approach, args.manifest)
    unknown = set(args.without) - set(clips["source_repo"])
    if unknown:
        raise SystemExit(f"--without: no scored clip of {', '.join(sorted(unknown))}")
    clips = clips[~clips["source_repo"].isin(args.without)]
    labels = (clips["label"] == "spoof").to_numpy(int)
    curve = detection_curve(clips["score"].to_numpy(), labels)
    at = int(np.argmin(np.abs(curve.miss_rate - curve.false_alarm_rate)))
    threshold = float(curve.thresholds[at])
    pooled = 100 * eer(clips["score"].to_numpy(), labels)
    flags = 100 * curve.false_alarm_rate[at]
    print(f"{len(clips)} clips, pooled EER {pooled:.2f}%; threshold where misses and false")
    print(f"alarms meet: {threshold:.4f} (flags {flags:.1f}% of genuine)")
    if args.repo:
        clips = clips[clips["source_repo"] == args.repo]
    if args.by not in clips.columns:
        raise SystemExit(f"--by {args.by}: not a manifest column (or kind)")
    with pd.option_context(
        "display.max_rows", None, "display.max_columns", None, "display.width", 200
    ):
        print(breakdown(clips, args.by, threshold).round(1).replace(np.nan, "-"))


if __name__ == "__main__":
    main()
