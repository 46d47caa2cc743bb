"""Recordings for API tests, built from the shared speech data."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from tests.conftest import encode_audio, shared_data
from voxguard.audio import load_audio


@lru_cache(maxsize=16)
def _librispeech(index: int) -> np.ndarray:
    files = sorted(shared_data("librispeech").glob("*.flac"))
    long_enough = [f for f in files if f.stat().st_size > 150_000]
    return load_audio(long_enough[index]).samples


def wav(samples: np.ndarray) -> bytes:
    return encode_audio(samples, 16000, "wav", "pcm_s16le")


def speaker_halves(index: int) -> tuple[bytes, bytes]:
    """Two recordings of one LibriSpeech reader: the two halves of one utterance."""
    samples = _librispeech(index)
    half = samples.size // 2
    return wav(samples[:half]), wav(samples[half:])


def silence(seconds: float = 3.0) -> bytes:
    return wav(np.zeros(int(seconds * 16000), dtype=np.float32))
