"""What a hostile file is, and the error codes that refuse it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from tests.hostile import formats

Target = Literal["audio", "archive"]

DECODE = frozenset({"audio_decode_error"})
UNSUPPORTED = frozenset({"unsupported_audio_format"})
TOO_LONG = frozenset({"audio_too_long"})
# Decodes to something, but nothing anyone said: refused for its content.
NOT_SPEECH = frozenset({"no_speech", "audio_too_short"})
# A decoder may read part of it, or none of it (FFmpeg versions differ on where they stop).
BROKEN = DECODE | NOT_SPEECH


@dataclass(frozen=True)
class Hostile:
    id: str  # stable and filesystem-safe: the test id and the file's name on disk
    filename: str  # the name it is uploaded under
    data: bytes
    target: Target  # audio: every audio upload; archive: the .zip uploads
    what: str
    expect: frozenset[str]  # error codes an endpoint may refuse it with


def audio(id: str, filename: str, data: bytes, what: str, expect: frozenset[str]) -> Hostile:
    return Hostile(id, filename, data, "audio", what, expect)


def archive(id: str, filename: str, data: bytes, what: str, expect: frozenset[str]) -> Hostile:
    return Hostile(id, filename, data, "archive", what, expect)


def tone(seconds: float, rate: int, channels: int = 1) -> np.ndarray:
    """A steady 220 Hz hum, (frames, channels): audio, but no speech."""
    t = np.arange(int(seconds * rate)) / rate
    mono = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    return np.repeat(mono[:, None], channels, axis=1)


def pcm16(samples: np.ndarray) -> np.ndarray:
    scaled: np.ndarray = np.round(np.clip(samples, -1, 1) * 32767)
    return scaled.astype("<i2")


def tone_wav(seconds: float = 2.0, rate: int = 16000) -> bytes:
    return formats.wav(pcm16(tone(seconds, rate)), rate)
