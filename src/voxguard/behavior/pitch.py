"""Frame-wise fundamental frequency by normalised autocorrelation (numpy only)."""

from __future__ import annotations

import numpy as np

from voxguard.audio.types import FloatArray

SAMPLE_RATE = 16_000
FRAME = 640  # 40 ms: two periods of a 50 Hz voice
HOP = 160  # 10 ms
F0_MIN, F0_MAX = 60.0, 400.0
VOICED_PEAK = 0.5  # normalised autocorrelation peak needed to call a frame voiced


def frames(samples: FloatArray, frame: int = FRAME, hop: int = HOP) -> FloatArray:
    if samples.size < frame:
        return np.zeros((0, frame), dtype=np.float32)
    n = 1 + (samples.size - frame) // hop
    idx = np.arange(frame)[None, :] + hop * np.arange(n)[:, None]
    out: FloatArray = samples[idx]
    return out


def f0_track(samples: FloatArray) -> FloatArray:
    """F0 (Hz) of each voiced 40 ms frame; unvoiced and silent frames are left out."""
    framed = frames(samples).astype(np.float64)
    if framed.shape[0] == 0:
        return np.zeros(0, dtype=np.float32)
    framed -= framed.mean(axis=1, keepdims=True)
    energy = np.sum(framed**2, axis=1)
    loud = energy > max(1e-6, 0.05 * float(np.median(energy)))
    spectrum = np.fft.rfft(framed * np.hanning(FRAME), n=2 * FRAME, axis=1)
    ac = np.fft.irfft(np.abs(spectrum) ** 2, axis=1)[:, :FRAME]
    ac /= np.maximum(ac[:, :1], 1e-12)
    lo, hi = int(SAMPLE_RATE / F0_MAX), int(SAMPLE_RATE / F0_MIN)
    window = ac[:, lo:hi]
    lag = np.argmax(window, axis=1)
    peak = window[np.arange(window.shape[0]), lag]
    voiced = loud & (peak >= VOICED_PEAK)
    f0: FloatArray = (SAMPLE_RATE / (lag[voiced] + lo)).astype(np.float32)
    return f0
