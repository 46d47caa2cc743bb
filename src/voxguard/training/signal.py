"""Small signal helpers shared by the corpus stages: WAV bytes, resampling, levels."""

from __future__ import annotations

import io
import wave
from pathlib import Path

import av
import numpy as np

from voxguard.audio.types import FloatArray


def pcm16(samples: FloatArray) -> bytes:
    return (np.clip(samples, -1.0, 1.0) * 32767.0).round().astype("<i2").tobytes()


def wav_bytes(samples: FloatArray, sample_rate: int) -> bytes:
    """16-bit mono WAV in memory."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(pcm16(samples))
    return buffer.getvalue()


def write_wav(path: Path, samples: FloatArray, sample_rate: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(wav_bytes(samples, sample_rate))


def read_wav(path: Path) -> tuple[FloatArray, int]:
    """A mono 16-bit WAV as float32 (what the command-line engines write)."""
    with wave.open(str(path), "rb") as handle:
        rate = handle.getframerate()
        width = handle.getsampwidth()
        channels = handle.getnchannels()
        raw = handle.readframes(handle.getnframes())
    if width != 2:
        raise ValueError(f"{path}: expected 16-bit PCM, got {8 * width}-bit")
    data = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    if channels > 1:
        data = data.reshape(-1, channels).mean(axis=1)
    return data.astype(np.float32), rate


def resample(samples: FloatArray, from_rate: int, to_rate: int) -> FloatArray:
    """FFmpeg's resampler (the one ``load_audio`` uses), on a float32 mono array."""
    if from_rate == to_rate:
        return samples.astype(np.float32, copy=True)
    resampler = av.AudioResampler(format="flt", layout="mono", rate=to_rate)
    frame = av.AudioFrame.from_ndarray(
        samples.astype(np.float32).reshape(1, -1), format="flt", layout="mono"
    )
    frame.sample_rate = from_rate
    frames = [*resampler.resample(frame), *resampler.resample(None)]
    pieces = [np.asarray(f.to_ndarray(), dtype=np.float32).reshape(-1) for f in frames]
    if not pieces:
        return np.zeros(0, dtype=np.float32)
    return np.concatenate(pieces).astype(np.float32)


def rms_db(samples: FloatArray) -> float:
    power = float(np.mean(np.square(samples, dtype=np.float64))) if samples.size else 0.0
    return 10.0 * float(np.log10(max(power, 1e-12)))


def db_to_gain(db: float) -> float:
    return float(10.0 ** (db / 20.0))
