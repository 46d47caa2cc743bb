"""Plain PCM 16-bit WAV: writing it, and the fast path for reading the commonest upload.

Writing: ``wav_bytes`` / ``write_wav`` produce 16-bit mono WAV from float samples (corpus
building, benchmarks, test data).

Reading: a plain PCM 16-bit WAV already at 16 kHz.

Reading its samples with numpy gives the same floats as FFmpeg's s16 -> float conversion
(x / 32768) without opening a demuxer, which costs milliseconds per call. Anything else (other
bit depths, float, WAVE_FORMAT_EXTENSIBLE, other rates, RIFX, odd or truncated chunks) returns
None and goes through PyAV, so this path only ever sees files it can read exactly.
"""

from __future__ import annotations

import io
import struct
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

_WAVE_FORMAT_PCM = 1
_RIFF_HEADER = 12
_CHUNK_HEADER = 8


@dataclass(frozen=True)
class PcmWav:
    sample_rate: int
    channels: int
    frames: npt.NDArray[np.int16]  # (n_frames, channels), a view of the input bytes


def parse_pcm16_wav(data: bytes, sample_rate: int) -> PcmWav | None:
    """The interleaved samples of a little-endian PCM 16-bit WAV at ``sample_rate``, or None."""
    if len(data) < _RIFF_HEADER or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return None
    fmt: tuple[int, int, int, int] | None = None
    offset = _RIFF_HEADER
    while offset + _CHUNK_HEADER <= len(data):
        chunk_id = data[offset : offset + 4]
        (size,) = struct.unpack_from("<I", data, offset + 4)
        body = offset + _CHUNK_HEADER
        if chunk_id == b"fmt ":
            if size < 16 or body + 16 > len(data):
                return None
            tag, channels, rate, _, align, bits = struct.unpack_from("<HHIIHH", data, body)
            fmt = (tag, channels, rate, bits)
            if tag != _WAVE_FORMAT_PCM or bits != 16 or channels < 1 or align != 2 * channels:
                return None
        elif chunk_id == b"data":
            if fmt is None or fmt[2] != sample_rate or body + size > len(data):
                return None
            channels = fmt[1]
            usable = size - size % (2 * channels)
            samples = np.frombuffer(data, dtype="<i2", count=usable // 2, offset=body)
            return PcmWav(rate, channels, samples.reshape(-1, channels))
        offset = body + size + (size & 1)  # chunks are word aligned
    return None


def pcm16(samples: npt.NDArray[np.float32]) -> bytes:
    """Float samples in [-1, 1] as little-endian 16-bit PCM, rounded and clipped."""
    return (np.clip(samples, -1.0, 1.0) * 32767.0).round().astype("<i2").tobytes()


def wav_bytes(samples: npt.NDArray[np.float32], sample_rate: int) -> bytes:
    """16-bit mono WAV in memory."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(pcm16(samples))
    return buffer.getvalue()


def write_wav(path: Path, samples: npt.NDArray[np.float32], sample_rate: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(wav_bytes(samples, sample_rate))
