"""Recordings for the end-to-end flow, built from ../shared/data (never copied into the repo)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.conftest import encode_audio, shared_data
from voxguard.audio import load_audio

FSDD_SPEAKERS = ["george", "jackson", "lucas", "nicolas", "theo", "yweweler"]


def _wav(samples: np.ndarray) -> bytes:
    return encode_audio(samples, 16000, "wav", "pcm_s16le")


def fsdd_recording(speaker: str, indices: range) -> bytes:
    """Digits 0-9 spoken by ``speaker`` at the given take indices, joined with short pauses.

    Each digit is brought to the same peak level, as a recording app's gain control would:
    some FSDD takes sit near -44 dBFS, where the VAD hears no speech at all.
    """
    root = shared_data("fsdd")
    gap = np.zeros(3200, dtype=np.float32)
    pieces = []
    for index in indices:
        for digit in range(10):
            samples = load_audio(root / f"{digit}_{speaker}_{index}.wav").samples
            pieces += [0.5 * samples / max(float(np.abs(samples).max()), 1e-6), gap]
    return _wav(np.concatenate(pieces))


def fsdd_enrollment(speaker: str) -> bytes:
    return fsdd_recording(speaker, range(5, 8))  # official train takes


def fsdd_test(speaker: str) -> bytes:
    return fsdd_recording(speaker, range(0, 1))  # official test take


def librispeech_readers(count: int) -> list[tuple[str, bytes, bytes]]:
    """(reader id, first half, second half) of the longest utterances."""
    files = sorted(shared_data("librispeech").glob("*.flac"), key=lambda p: -p.stat().st_size)
    readers = []
    for path in files[:count]:
        samples = load_audio(path).samples
        half = samples.size // 2
        readers.append((_reader(path), _wav(samples[:half]), _wav(samples[half:])))
    return readers


def _reader(path: Path) -> str:
    return "reader-" + path.name.split("-")[0]
