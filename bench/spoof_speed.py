"""Per-window cost of the bundled spoof detector against the named RandomForest baseline.

Both on one CPU thread, in the same run, on the same 4 s windows of real speech:
- detector: log spectrogram (numpy) + ONNX forward, batch of one window;
- baseline: the 26 librosa summary features + a 200-tree RandomForest predict.

    OMP_NUM_THREADS=1 python bench/spoof_speed.py [--windows 40]

Needs librosa (the ``train`` extra) for the baseline; reads ../shared/data.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

from voxguard.audio import load_audio
from voxguard.config import Settings
from voxguard.spoof import SpoofDetector
from voxguard.spoof.features import make_windows, summary_features
from voxguard.training.detector.models import fit_baseline

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def real_windows(count: int) -> tuple[list[np.ndarray], np.ndarray]:
    """Windows from genuine LibriSpeech files and demo-page spoofs, half and half."""
    detector_params = SpoofDetector().params
    bona = sorted((SHARED / "librispeech").glob("*.flac"))
    rows = list(csv.DictReader((SHARED / "demos" / "manifest.csv").open()))
    spoof = [SHARED / "demos" / r["path"] for r in rows if r["label"] == "spoof"][::7]
    windows: list[np.ndarray] = []
    labels: list[int] = []
    for paths, label in ((bona, 0), (spoof, 1)):
        got = 0
        for p in paths:
            for _, w in make_windows(load_audio(p).samples, detector_params)[:2]:
                windows.append(w)
                labels.append(label)
                got += 1
            if got >= count // 2:
                break
    return windows, np.array(labels)


def time_per_window(fn: object, windows: list[np.ndarray]) -> float:
    call = fn  # type: ignore[assignment]
    call(windows[0])  # type: ignore[operator]
    t0 = time.perf_counter()
    for w in windows:
        call(w)  # type: ignore[operator]
    return (time.perf_counter() - t0) / len(windows)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--windows", type=int, default=40)
    ap.add_argument("--model-dir", type=Path, help="an exported detector (default: the bundled)")
    args = ap.parse_args()
    windows, labels = real_windows(args.windows)
    detector = SpoofDetector(model_dir=args.model_dir, settings=Settings(inference_threads=1))
    params = detector.params
    forest = fit_baseline(np.stack([summary_features(w, params) for w in windows]), labels)

    det_s = time_per_window(lambda w: detector.window_logits([w]), windows)
    base_s = time_per_window(lambda w: forest.logit(summary_features(w, params)[None]), windows)
    report = {
        "windows": len(windows),
        "window_s": detector.params.window_s,
        "model": detector.sidecar.raw.get("architecture"),
        "detector_ms_per_window": round(1000 * det_s, 2),
        "baseline_ms_per_window": round(1000 * base_s, 2),
        "detector_vs_baseline_time_ratio": round(det_s / base_s, 3),
        "budget_ms_per_window": 20.0,
        "within_budget": det_s * 1000 <= 20.0,
    }
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
