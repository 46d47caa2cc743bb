"""The one clean-up path every clip goes through, genuine or generated.

Each step removes a shortcut a detector would otherwise learn (see
``shared/notes/offline-speech-generators.md``): the sample rate (everything is decoded and
resampled by ``load_audio``), leading and trailing silence (trimmed by the same Silero VAD),
loudness (active speech level normalised to one target), and digital silence (a faint random
noise floor, so that exact zeros never mark a TTS engine).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from voxguard.audio import TARGET_SAMPLE_RATE, load_audio
from voxguard.audio.types import FloatArray
from voxguard.audio.vad import SpeechDetector, speech_only
from voxguard.training.signal import db_to_gain, rms_db, wav_bytes


@dataclass(frozen=True)
class CanonicalParams:
    target_level_db: float = -26.0
    peak_limit: float = 0.95
    trim_pad_s: float = 0.12
    noise_floor_db: tuple[float, float] = (-78.0, -62.0)
    min_speech_s: float = 0.5


def to_16k(samples: FloatArray, sample_rate: int) -> FloatArray:
    """Resample through ``load_audio``: the path genuine files take when they are read."""
    return load_audio(wav_bytes(samples, sample_rate)).samples


def pink_noise(size: int, rng: np.random.Generator) -> FloatArray:
    """Unit-RMS 1/f noise (white noise shaped in the frequency domain)."""
    spectrum = np.fft.rfft(rng.standard_normal(size))
    freqs = np.arange(spectrum.size, dtype=np.float64)
    freqs[0] = 1.0
    noise = np.fft.irfft(spectrum / np.sqrt(freqs), n=size)
    return (noise / (np.std(noise) + 1e-12)).astype(np.float32)


class Canonicaliser:
    """Trim, level-normalise and dither 16 kHz audio the same way for both classes."""

    def __init__(self, params: CanonicalParams | None = None) -> None:
        self.params = params or CanonicalParams()
        self._vad = SpeechDetector(threads=1)

    def __call__(self, samples: FloatArray, rng: np.random.Generator) -> FloatArray | None:
        """The cleaned clip, or None when it holds too little speech to keep."""
        p = self.params
        segments = self._vad.segments(samples)
        speech = speech_only(samples, segments)
        if speech.size < p.min_speech_s * TARGET_SAMPLE_RATE:
            return None
        start = max(0, int((segments[0].start_s - p.trim_pad_s) * TARGET_SAMPLE_RATE))
        end = min(samples.size, int((segments[-1].end_s + p.trim_pad_s) * TARGET_SAMPLE_RATE))
        clip = samples[start:end].astype(np.float32)
        clip *= db_to_gain(p.target_level_db - rms_db(speech))
        peak = float(np.max(np.abs(clip)))
        if peak > p.peak_limit:
            clip *= p.peak_limit / peak
        floor_db = float(rng.uniform(*p.noise_floor_db))
        clip += db_to_gain(floor_db) * pink_noise(clip.size, rng)
        return np.clip(clip, -1.0, 1.0).astype(np.float32)
