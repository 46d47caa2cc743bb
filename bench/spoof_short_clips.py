"""Does a short clip look more synthetic just because it is short?

Speech shorter than one 4 s window is repeated up to the window length before the model
sees it. For real files of both classes with at least 4 s of audio, this compares the
window logit of a 1 s and a 2 s excerpt (repeated, as a short clip would be) with the
logit of the file's first full 4 s window. A shift that is larger for genuine than for
synthetic speech means short genuine clips get flagged for their length: the baseline
here is the same model's full-window score of the same file, in the same run.

    OMP_NUM_THREADS=1 python bench/spoof_short_clips.py [--model-dir DIR] [--step 5]

Reads LibriSpeech (genuine) and the demo-page spoofs from ../shared/data.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np

from voxguard.audio import load_audio
from voxguard.spoof import SpoofDetector
from voxguard.spoof.features import make_windows

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
EXCERPTS_S = (1.0, 2.0)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--model-dir", type=Path, help="another exported model (default: bundled)")
    ap.add_argument("--step", type=int, default=5, help="use every n-th file of each source")
    args = ap.parse_args()
    detector = SpoofDetector(model_dir=args.model_dir)
    params = detector.params
    demos = SHARED / "demos"
    spoofs = [r for r in csv.DictReader((demos / "manifest.csv").open()) if r["label"] == "spoof"]
    sources = {
        "genuine (LibriSpeech)": sorted((SHARED / "librispeech").glob("*.flac"))[:: args.step],
        "spoof (demo pages)": [demos / r["path"] for r in spoofs][:: args.step],
    }
    report: dict[str, object] = {"model": detector.sidecar.version}
    for name, files in sources.items():
        shifts: dict[float, list[float]] = {s: [] for s in EXCERPTS_S}
        for path in files:
            samples = load_audio(path).samples.astype(np.float32)
            if samples.size < params.window_samples:
                continue
            full = samples[: params.window_samples]
            repeated = [
                make_windows(samples[: int(s * params.sample_rate)], params)[0][1]
                for s in EXCERPTS_S
            ]
            logits = detector.window_logits([full, *repeated])
            for s, logit in zip(EXCERPTS_S, logits[1:], strict=True):
                shifts[s].append(float(logit - logits[0]))
        report[name] = {
            f"{s:g}s_repeated_minus_full_window_logit": {
                "mean": round(float(np.mean(v)), 3),
                "median": round(float(np.median(v)), 3),
                "files": len(v),
            }
            for s, v in shifts.items()
        }
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
