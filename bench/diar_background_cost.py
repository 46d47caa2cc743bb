"""What the background detector adds to the diarizer's run time.

    .venv/bin/python bench/diar_background_cost.py [--set artifacts/diar/babble] [--files 5]

Each conversation is diarized with the defaults (background detector on,
``DiarizationParams.background_threshold``). The detector's own share is timed apart: the
score features and its ONNX run (the acoustic features are the overlap detector's, computed
once for both). Baseline: the whole ``Diarizer.diarize`` call, in the same run. Best of three
per file.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from voxguard.diarization.pipeline import DiarizationParams, Diarizer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from diar_overlap_cost import _best, conversations


def main() -> None:
    diarizer = Diarizer(params=DiarizationParams())
    if diarizer.background_detector is None:
        raise SystemExit("the background detector is off in DiarizationParams()")
    shares = []
    for row in conversations(__doc__, "artifacts/diar/babble"):
        whole = _best(lambda row=row: diarizer.diarize(row.audio))
        windows = diarizer.windows(diarizer.front_end.analyze(row.audio))
        grid, _ = diarizer.frame_grid(windows)
        model = _best(lambda w=windows, g=grid: diarizer.background_probabilities(w, g))
        shares.append(model / whole)
        print(
            f"{row.audio.name}: diarize {whole:.2f} s, background detector {model * 1e3:.0f} ms "
            f"= {100 * model / whole:.2f}%"
        )
    print(
        f"background detector's share of the diarizer's time: median {100 * np.median(shares):.2f}%"
    )


if __name__ == "__main__":
    main()
