"""Behavior profile of a speaker and how well a new recording matches it.

Features, all from the speech regions only:
- pitch: median F0 (Hz) and its 10-90 percentile range in semitones;
- speaking rate: syllable nuclei (peaks of the smoothed speech-band energy) per second;
- spectral statistics: mean and spread of the spectral centroid, mean spectral flatness.

``compare_profiles`` turns each feature difference into a similarity with a Gaussian kernel
whose width is the typical within-speaker variation, and averages them into 0-1.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from voxguard.audio.types import FloatArray
from voxguard.behavior.pitch import SAMPLE_RATE, f0_track, frames

_EPS = 1e-10
_MIN_NUCLEUS_GAP = 0.12  # s: syllables are rarely closer than this


@dataclass(frozen=True)
class BehaviorProfile:
    pitch_median_hz: float
    pitch_range_st: float
    voiced_ratio: float
    speaking_rate: float  # syllable nuclei per second of speech
    centroid_mean_hz: float
    centroid_std_hz: float
    flatness_mean: float
    speech_s: float

    def to_dict(self) -> dict[str, Any]:
        return {k: round(float(v), 4) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BehaviorProfile:
        return cls(**{k: float(data[k]) for k in cls.__dataclass_fields__})

    def merged(self, other: BehaviorProfile) -> BehaviorProfile:
        """Average of two profiles weighted by their speech seconds (for added samples)."""
        total = self.speech_s + other.speech_s
        if total <= 0:
            return other
        a, b = self.speech_s / total, other.speech_s / total
        mine, theirs = asdict(self), asdict(other)
        values = {k: a * mine[k] + b * theirs[k] for k in mine}
        values["speech_s"] = total
        return BehaviorProfile(**values)


def extract_profile(speech: FloatArray) -> BehaviorProfile:
    """Profile of concatenated speech samples (16 kHz mono)."""
    speech_s = speech.size / SAMPLE_RATE
    f0 = f0_track(speech)
    n_frames = max(frames(speech).shape[0], 1)
    if f0.size >= 3:
        median = float(np.median(f0))
        p10, p90 = np.percentile(f0, [10, 90])
        pitch_range = float(12.0 * np.log2(p90 / p10))
    else:
        median, pitch_range = 0.0, 0.0
    centroid, flatness = _spectral_stats(speech)
    return BehaviorProfile(
        pitch_median_hz=median,
        pitch_range_st=pitch_range,
        voiced_ratio=f0.size / n_frames,
        speaking_rate=_syllable_rate(speech),
        centroid_mean_hz=float(np.mean(centroid)) if centroid.size else 0.0,
        centroid_std_hz=float(np.std(centroid)) if centroid.size else 0.0,
        flatness_mean=float(np.mean(flatness)) if flatness.size else 0.0,
        speech_s=speech_s,
    )


# feature -> (kernel width, weight). Pitch differences in semitones, the rest relative.
_KERNELS = {
    "pitch": (3.0, 0.35),
    "pitch_range": (4.0, 0.1),
    "rate": (0.35, 0.15),
    "centroid": (0.25, 0.25),
    "flatness": (0.5, 0.15),
}


def compare_profiles(enrolled: BehaviorProfile, probe: BehaviorProfile) -> float:
    """Similarity in 0-1 (1 = same behavior). Features missing on either side are skipped."""
    diffs: dict[str, float] = {}
    if enrolled.pitch_median_hz > 0 and probe.pitch_median_hz > 0:
        diffs["pitch"] = 12.0 * np.log2(probe.pitch_median_hz / enrolled.pitch_median_hz)
        diffs["pitch_range"] = probe.pitch_range_st - enrolled.pitch_range_st
    if enrolled.speaking_rate > 0 and probe.speaking_rate > 0:
        diffs["rate"] = np.log(probe.speaking_rate / enrolled.speaking_rate)
    if enrolled.centroid_mean_hz > 0 and probe.centroid_mean_hz > 0:
        diffs["centroid"] = np.log(probe.centroid_mean_hz / enrolled.centroid_mean_hz)
    if enrolled.flatness_mean > 0 and probe.flatness_mean > 0:
        diffs["flatness"] = np.log(probe.flatness_mean / enrolled.flatness_mean)
    if not diffs:
        return 0.5  # nothing comparable: neither evidence for nor against
    total = sum(_KERNELS[k][1] for k in diffs)
    score = sum(
        _KERNELS[k][1] * float(np.exp(-0.5 * (d / _KERNELS[k][0]) ** 2)) for k, d in diffs.items()
    )
    return round(score / total, 4)


def _spectral_stats(speech: FloatArray) -> tuple[FloatArray, FloatArray]:
    framed = frames(speech, 512, 256).astype(np.float64)
    if framed.shape[0] == 0:
        empty = np.zeros(0, dtype=np.float32)
        return empty, empty
    power = np.abs(np.fft.rfft(framed * np.hanning(512), axis=1)) ** 2 + _EPS
    freqs = np.fft.rfftfreq(512, 1.0 / SAMPLE_RATE)
    loud = power.sum(axis=1) > 1e-6
    power = power[loud]
    centroid = (power @ freqs) / power.sum(axis=1)
    flatness = np.exp(np.mean(np.log(power), axis=1)) / np.mean(power, axis=1)
    return centroid.astype(np.float32), flatness.astype(np.float32)


def _syllable_rate(speech: FloatArray) -> float:
    """Peaks of the 10 ms energy envelope, smoothed over 50 ms, above a per-clip floor."""
    framed = frames(speech, 400, 160).astype(np.float64)
    if framed.shape[0] < 5:
        return 0.0
    energy_db = 10.0 * np.log10(np.mean(framed**2, axis=1) + _EPS)
    envelope = np.convolve(energy_db, np.ones(5) / 5, mode="same")
    floor = np.percentile(envelope, 30)
    gap = int(_MIN_NUCLEUS_GAP / 0.01)
    peaks = 0
    last = -gap
    for i in range(1, envelope.size - 1):
        is_peak = envelope[i] >= envelope[i - 1] and envelope[i] > envelope[i + 1]
        if is_peak and envelope[i] > floor + 3.0 and i - last >= gap:
            peaks += 1
            last = i
    return peaks / (speech.size / SAMPLE_RATE)
