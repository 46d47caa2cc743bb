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
flagged and of spoofs missed at P = 0.5, through each calibration: one fitted on the clean
out-of-fold scores (``_clean_cal``, what the detector applies to wideband audio), one fitted
on the out-of-fold scores through the AMR-NB and G.711 lines (``_narrowband_cal``, what it
applies to phone lines; G.723.1 is never fitted on) and, when ``--lines`` names MP3 at 32
kbit/s and the 7 kHz low-pass, one fitted on those (``_band_limited_cal``, what it applies to
speech with an empty top band; MP3 at 64 kbit/s is never fitted on). ``_served`` routes each
clip as the detector would, by its measured band levels (``high_band_db``, ``top_band_db`` over
the clip's cached windows; ``served_routes`` counts the clips per calibration; the
short-speech calibration is left out). ``pooled`` does the same over every condition at once:
one threshold for clean, phone and compressed clips together, as a service deployed on mixed
traffic has, against ``pooled_clean_cal_only`` (every clip through the clean calibration). The
baseline is the clean condition: the same fold models, the same clips, in the same run.
``cllr_*`` measures each calibration as a whole (1.0 = no information; lower is better).

    OMP_NUM_THREADS=1 python bench/spoof_phone_channels.py \
        --cache artifacts/cache_demos_vocoded.npz --work artifacts/phone_channels

The phone-line caches (``--work``/<line>.npz, a few minutes each) are built on first use.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from voxguard.audio.types import Channel
from voxguard.evaluation.metrics import cllr, eer, roc_auc
from voxguard.spoof.detector import calibrated_log_odds, channel_of
from voxguard.spoof.sidecar import BandLimitedCalibration, Calibration, NarrowbandCalibration
from voxguard.training.detector.approaches import APPROACHES
from voxguard.training.detector.augment import TEST_CHANNELS, TEST_PHONE_LINES
from voxguard.training.detector.data import FeatureCache
from voxguard.training.detector.protocols import ensure_features
from voxguard.training.detector.train import (
    BAND_LIMITED_BELOW_DB,
    BAND_LIMITED_CALIBRATION_LINES,
    NARROWBAND_BELOW_DB,
    NARROWBAND_CALIBRATION_LINES,
    clip_key,
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
    fitted_lines = {
        "narrowband": NARROWBAND_CALIBRATION_LINES,
        "band_limited": BAND_LIMITED_CALIBRATION_LINES,
    }
    for cal_name, cal_lines in fitted_lines.items():
        fitted = [line for line in cal_lines if line in tests]
        if fitted:
            scale, offset, _ = line_calibration(scores, fitted, common)
            calibrations[cal_name] = (scale, offset)
    report: dict[str, object] = {
        "cache": str(args.cache),
        "approach": args.approach,
        "clips": len(common),
        "calibration": {
            "clean": "fitted on the clean out-of-fold scores (the shipped recipe)",
            **{
                name: f"fitted on the out-of-fold scores through {', '.join(cal_lines)} "
                "(the shipped recipe; in sample for those lines, not for others)"
                for name, cal_lines in fitted_lines.items()
                if name in calibrations
            },
        },
    }
    pooled_scores, pooled_routes = [], []
    for name, cache in tests.items():
        s = np.array([scores[name][k][1] for k in common])
        by_clip = served_routes(cache, calibrations)
        routes = np.array([by_clip[k] for k in common])
        row: dict[str, object] = {
            "eer": round(100 * eer(s, labels), 1),
            "auc": round(roc_auc(s, labels), 3),
        }
        for cal_name, (a, b) in calibrations.items():
            if cal_name != "clean" and name == "clean":
                continue
            row |= operating_point(a * s + b, labels, cal_name)
        row |= operating_point(served_log_odds(calibrations, s, routes), labels, "served")
        row["served_routes"] = {
            kind: {route: int(np.sum((routes == route) & (labels == y))) for route in calibrations}
            for kind, y in (("genuine", 0), ("spoof", 1))
        }
        report[name] = row
        pooled_scores.append(s)
        pooled_routes.append(routes)
    y = np.tile(labels, len(tests))
    s, routes = np.concatenate(pooled_scores), np.concatenate(pooled_routes)
    # One threshold over every condition at once; each extra calibration left out in turn
    # (its clips then get the clean one) shows what that calibration adds.
    variants = {"served": calibrations, "clean_cal_only": {"clean": calibrations["clean"]}}
    variants |= {
        f"served_without_{left_out}": {k: v for k, v in calibrations.items() if k != left_out}
        for left_out in calibrations
        if left_out != "clean"
    }
    report["pooled"] = {"conditions": list(tests)} | {
        name: {"eer": round(100 * eer(log_odds, y), 1)} | operating_point(log_odds, y, "")
        for name, cals in variants.items()
        for log_odds in [served_log_odds(cals, s, routes)]
    }
    print(json.dumps(report, indent=1))


def served_log_odds(
    calibrations: dict[str, tuple[float, float]], scores: np.ndarray, routes: np.ndarray
) -> np.ndarray:
    """Log-odds of each score through the calibration of its route, as the detector maps it
    (``calibrated_log_odds``: the clean one for a route that has none in ``calibrations``)."""
    calibration = as_calibration(calibrations)
    out = np.zeros(scores.size)
    for route in np.unique(routes):
        at = routes == route
        channel: Channel = "wideband" if route == "clean" else route
        out[at] = calibrated_log_odds(calibration, scores[at], channel)
    return out


def as_calibration(calibrations: dict[str, tuple[float, float]]) -> Calibration:
    """The bench's fitted (scale, offset) pairs as a sidecar's calibration, with the
    training recipe's band levels for the phone-line and band-limited blocks."""
    narrow, limited = calibrations.get("narrowband"), calibrations.get("band_limited")
    return Calibration(
        *calibrations["clean"],
        narrowband=NarrowbandCalibration(*narrow, NARROWBAND_BELOW_DB) if narrow else None,
        band_limited=BandLimitedCalibration(*limited, BAND_LIMITED_BELOW_DB) if limited else None,
    )


def operating_point(log_odds: np.ndarray, labels: np.ndarray, name: str) -> dict[str, float]:
    """Share of genuine clips flagged and of spoofs missed at P = 0.5, and the Cllr."""
    suffix = f"_{name}_cal" if name else ""
    return {
        f"genuine_flagged{suffix}": round(100 * float(np.mean(log_odds[labels == 0] >= 0)), 1),
        f"spoofs_missed{suffix}": round(100 * float(np.mean(log_odds[labels == 1] < 0)), 1),
        f"cllr{suffix}": round(cllr(log_odds, labels), 3),
    }


def served_routes(
    cache: FeatureCache, calibrations: dict[str, tuple[float, float]]
) -> dict[str, str]:
    """The calibration the detector would serve each clip (by ``clip_key``) with: its band
    levels measured over the clip's cached windows, as ``SpoofDetector.channel_of`` measures
    them over the speech ("clean" for the wideband mapping)."""
    calibration = as_calibration(calibrations)
    routes = {}
    for i, clip in enumerate(cache.clips):
        speech = cache.waves[cache.window_clip == i].astype(np.float32).reshape(-1) / 32768.0
        channel = channel_of(speech, 16000, calibration)
        routes[clip_key(clip)] = "clean" if channel == "wideband" else channel
    return routes


if __name__ == "__main__":
    main()
