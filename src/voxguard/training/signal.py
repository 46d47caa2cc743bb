"""Small signal helpers shared by the corpus stages: WAV reading, resampling, levels.

WAV writing lives in ``voxguard.audio.wav`` and is re-exported here for the corpus stages.
"""

from __future__ import annotations

import wave
from pathlib import Path

import av
import numpy as np

from voxguard.audio import TARGET_SAMPLE_RATE
from voxguard.audio.types import FloatArray
from voxguard.audio.wav import pcm16, wav_bytes, write_wav

__all__ = ["cut_points", "pcm16", "wav_bytes", "write_wav"]


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


_CUT_FRAME = 512


def cut_points(
    samples: FloatArray, rng: np.random.Generator, span_s: tuple[float, float] = (3.0, 6.0)
) -> list[int]:
    """Sample indices to cut at: the quietest 32 ms frame ``span_s`` after each previous cut."""
    rate = TARGET_SAMPLE_RATE
    n_frames = samples.size // _CUT_FRAME
    if n_frames == 0:
        return []
    energy = np.square(samples[: n_frames * _CUT_FRAME].reshape(n_frames, _CUT_FRAME)).mean(axis=1)
    cuts: list[int] = []
    start = 0
    min_frames, max_frames = (int(s * rate / _CUT_FRAME) for s in span_s)
    while n_frames - start > max_frames + min_frames // 2:
        lo, hi = start + min_frames, start + int(rng.integers(min_frames + 1, max_frames + 1))
        cut = lo + int(np.argmin(energy[lo:hi]))
        cuts.append(cut * _CUT_FRAME + _CUT_FRAME // 2)
        start = cut
    return cuts
