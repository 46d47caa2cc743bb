"""Which scoring path babble of other constructions takes (issue 20's unexplained hidden set).

    OMP_NUM_THREADS=1 .venv/bin/python bench/speaker_babble_routing.py [--readers 60] [--seed 5]

The speaker engine routes a test to its noisy path when the quality report's SNR is under the
back end's ``noisy_below_snr_db`` (22 dB). If a hidden set's babble were measured above that,
its tests would take the clean path and VoxGuard would score like raw GE2E. This takes the
second half of ``--readers`` LibriSpeech recordings (at least 6 s) and mixes babble in the
ways a set could be built: as ``bench/speaker_unseen.py`` does (3 looped talkers, SNR over
the whole clip) at 5, 10 and 15 dB; SNR over the speech's active frames; talkers without
their pauses; 6 talkers; 1 talker. It prints the median and 90th percentile of the measured
SNR and the share under 22 dB (routed noisy), and the same for the clean halves.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from voxguard.audio.analysis import AudioFrontEnd
from voxguard.audio.types import AudioClip, AudioMetadata, FloatArray
from voxguard.speaker.augment import add_noise
from voxguard.speaker.backend import load_backend
from voxguard.speaker.training.views import babble, load_readers, split_halves

LIBRISPEECH = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "librispeech"


def drawn_readers(
    doc: str, readers_default: int, seed_default: int
) -> tuple[argparse.Namespace, dict[str, FloatArray], list[str], list[str]]:
    """``--readers`` and ``--seed``; the LibriSpeech recordings; that many readers (at least
    6 s) drawn with that seed; and the other readers, whose voices make the babble."""
    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    ap.add_argument("--readers", type=int, default=readers_default)
    ap.add_argument("--seed", type=int, default=seed_default)
    args = ap.parse_args()
    readers = load_readers(LIBRISPEECH)
    ids = sorted(s for s, w in readers.items() if w.size >= 6 * 16000)
    tests = list(np.random.default_rng(args.seed).choice(ids, args.readers, replace=False))
    return args, readers, tests, [s for s in ids if s not in tests]


def main() -> None:
    args, readers, tests, pool = drawn_readers(__doc__, 60, 5)
    front, limit = AudioFrontEnd(), load_backend().noisy_below_snr_db

    def analyzed(samples: FloatArray) -> tuple[float, FloatArray]:
        meta = AudioMetadata("array", "pcm", 16000, 1, samples.size / 16000, 0)
        result = front.analyze_clip(AudioClip(samples.astype(np.float32), 16000, meta))
        return result.quality.snr_db, result.speech

    measured: dict[str, list[float]] = {"clean": []}
    trimmed: dict[str, FloatArray] = {}
    for speaker in tests:
        _, half = split_halves(readers[speaker])
        rng = np.random.default_rng([args.seed, int(speaker)])

        def talkers(n: int, rng: np.random.Generator = rng) -> list[FloatArray]:
            return [readers[t] for t in rng.choice(pool, n, replace=False)]

        def add(name: str, mix: FloatArray) -> None:
            measured.setdefault(name, []).append(analyzed(mix)[0])

        clean_snr, speech = analyzed(half)
        measured["clean"].append(clean_snr)
        crowd = babble(half.size, talkers(3), rng)
        for db in (5, 10, 15):
            add(f"3 looped talkers, {db} dB over the clip", add_noise(half, crowd, db))
        active = float(np.mean(speech.astype(np.float64) ** 2))
        whole = float(np.mean(half.astype(np.float64) ** 2))
        add(
            "3 talkers, 5 dB over active speech",
            add_noise(half, crowd, 5 + 10 * np.log10(whole / active)),
        )
        pauseless = [
            trimmed.setdefault(t, analyzed(readers[t])[1])
            for t in rng.choice(pool, 3, replace=False)
        ]
        add(
            "3 talkers without their pauses, 5 dB",
            add_noise(half, babble(half.size, pauseless, rng), 5),
        )
        add("6 talkers, 5 dB", add_noise(half, babble(half.size, talkers(6), rng), 5))
        add("1 talker, 5 dB", add_noise(half, babble(half.size, talkers(1), rng), 5))
    print(f"{len(tests)} test halves; noisy path below {limit:g} dB")
    for name, values in measured.items():
        v = np.array(values)
        print(
            f"{name}: median {np.median(v):.1f} dB, 90th percentile {np.percentile(v, 90):.1f} dB,"
            f" routed noisy {np.mean(v < limit):.0%}"
        )


if __name__ == "__main__":
    main()
