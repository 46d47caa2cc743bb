"""What the overlap detector adds to the diarizer's run time.

    .venv/bin/python bench/diar_overlap_cost.py [--set artifacts/diar/clean] [--files 5]

Each conversation is diarized with the detector on (``DiarizationParams.overlap_threshold``
set); the detector's own share is timed apart: its acoustic features (from the mel
spectrogram the diarizer already has), the score features and the ONNX run. Baseline: the
whole ``Diarizer.diarize`` call, in the same run. Best of three per file.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

from voxguard.diarization.overlap import acoustic_features
from voxguard.diarization.pipeline import DiarizationParams, Diarizer
from voxguard.evaluation.diarization import ManifestRow, read_manifest
from voxguard.speaker.features import mel_spectrogram_chunked


def _best(run: Callable[[], object], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def conversations(doc: str, default_set: str) -> list[ManifestRow]:
    """The first ``--files`` conversations of ``--set`` (a ``make diar-set`` condition)."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--set", type=Path, default=Path(default_set))
    parser.add_argument("--files", type=int, default=5)
    args = parser.parse_args()
    return read_manifest(args.set / "manifest.csv")[: args.files]


def main() -> None:
    threshold = DiarizationParams().overlap_threshold or 0.5
    diarizer = Diarizer(params=replace(DiarizationParams(), overlap_threshold=threshold))
    shares = []
    for row in conversations(__doc__, "artifacts/diar/clean"):
        whole = _best(lambda row=row: diarizer.diarize(row.audio))
        windows = diarizer.windows(diarizer.front_end.analyze(row.audio))
        grid, _ = diarizer.frame_grid(windows)
        mel = mel_spectrogram_chunked(
            diarizer.front_end.analyze(row.audio).clip.samples, diarizer.encoder.mel_config
        )
        features = _best(lambda mel=mel, w=windows: acoustic_features(mel, w.speech))
        model = _best(lambda w=windows, g=grid: diarizer.overlap_probabilities(w, g))
        share = (features + model) / whole
        shares.append(share)
        print(
            f"{row.audio.name}: diarize {whole:.2f} s, detector features {features * 1e3:.0f} ms "
            f"+ score features and ONNX {model * 1e3:.0f} ms = {100 * share:.1f}%"
        )
    print(f"detector share of the diarizer's time: median {100 * np.median(shares):.1f}%")


if __name__ == "__main__":
    main()
