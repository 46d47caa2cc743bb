"""A screening probe: raw GE2E with babble on both sides, every frame against the loudest.

    OMP_NUM_THREADS=1 .venv/bin/python bench/speaker_loud_frames.py --seed 101 [--readers 120]

Draws ``--readers`` LibriSpeech readers (at least 6 s); each one's first half (enrollment) and
second half (test) get babble of 3 other readers (none of the drawn ones) at 5 dB SNR. Each
recording is volume-normalised and turned into GE2E's mel frames; the frames in the top
``keep`` share by energy are kept and embedded with GE2E's partial windows (mean, L2 norm).
Prints the EER of every enrollment against every test (cosine), per ``keep``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from voxguard.audio.types import FloatArray
from voxguard.evaluation.metrics import eer
from voxguard.speaker.encoder import Ge2eEncoder, normalize_volume
from voxguard.speaker.features import mel_spectrogram_chunked
from voxguard.speaker.training.views import babble_mix, split_halves

sys.path.insert(0, str(Path(__file__).resolve().parent))
from speaker_babble_routing import drawn_readers

KEEPS = (1.0, 0.85, 0.7, 0.6)


def main() -> None:
    args, readers, tests, pool = drawn_readers(__doc__, 120, 101)
    encoder = Ge2eEncoder()

    def embeddings(samples: FloatArray) -> dict[float, FloatArray]:
        mel = mel_spectrogram_chunked(
            normalize_volume(samples.astype(np.float32), encoder.spec.norm_target_dbfs),
            encoder.mel_config,
        )
        energy = np.log(mel.sum(axis=1) + 1e-10)
        out = {}
        for keep in KEEPS:
            frames = mel if keep >= 1.0 else mel[energy >= np.quantile(energy, 1 - keep)]
            mean = encoder.partial_embeddings_mel(frames).mean(axis=0)
            out[keep] = mean / np.linalg.norm(mean)
        return out

    enrolled, tested = {}, {}
    for speaker in tests:
        first, second = split_halves(readers[speaker])
        rng = np.random.default_rng([args.seed, int(speaker)])
        enrolled[speaker] = embeddings(babble_mix(first, readers, pool, 3, 5.0, rng))
        tested[speaker] = embeddings(babble_mix(second, readers, pool, 3, 5.0, rng))
    for keep in KEEPS:
        scores = np.array([enrolled[a][keep] @ tested[b][keep] for a in tests for b in tests])
        labels = np.array([float(a == b) for a in tests for b in tests])
        print(f"keep {keep:.2f} of the frames: EER {100 * eer(scores, labels):.2f} %")


if __name__ == "__main__":
    main()
