"""Audio quality report: how much speech, how loud, how clean, how wide the band.

Enrollment refuses on blocking codes; verification and checks carry every code as a warning
and the risk engine weighs them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from voxguard.audio.decode import TARGET_SAMPLE_RATE
from voxguard.audio.types import FloatArray
from voxguard.audio.vad import SpeechSegment, speech_only
from voxguard.config import Settings

_EPS = 1e-10
_FRAME = 400  # 25 ms
_HOP = 160  # 10 ms


class QualityCode(StrEnum):
    NO_SPEECH = "NO_SPEECH"
    TOO_SHORT = "TOO_SHORT"
    CLIPPED = "CLIPPED"
    TOO_NOISY = "TOO_NOISY"
    TOO_QUIET = "TOO_QUIET"
    NARROWBAND = "NARROWBAND"


# Codes that make a recording unusable as an enrollment sample.
BLOCKING_FOR_ENROLLMENT = frozenset({QualityCode.NO_SPEECH, QualityCode.TOO_SHORT})

_MESSAGES = {
    QualityCode.NO_SPEECH: "no speech was detected",
    QualityCode.TOO_SHORT: "too little speech",
    QualityCode.CLIPPED: "the signal is clipped (recorded too loud)",
    QualityCode.TOO_NOISY: "background noise is high relative to the speech",
    QualityCode.TOO_QUIET: "the speech level is very low",
    QualityCode.NARROWBAND: "narrowband audio (telephone-like); accuracy is reduced",
}

TOO_QUIET_DBFS = -50.0
# The effective bandwidth ends where the long-term spectrum falls this far below its peak.
BANDWIDTH_RANGE_DB = 50.0


@dataclass(frozen=True)
class QualityReport:
    duration_s: float
    speech_s: float
    clipping_ratio: float
    level_dbfs: float
    snr_db: float
    bandwidth_hz: float
    codes: list[QualityCode] = field(default_factory=list)

    @property
    def messages(self) -> list[str]:
        return [_MESSAGES[c] for c in self.codes]

    @property
    def usable_for_enrollment(self) -> bool:
        return not BLOCKING_FOR_ENROLLMENT.intersection(self.codes)

    def score(self) -> float:
        """0 (unusable) to 1 (clean, wideband, enough speech), for display and risk fusion."""
        if QualityCode.NO_SPEECH in self.codes:
            return 0.0
        speech = min(self.speech_s / 3.0, 1.0)
        snr = float(np.clip((self.snr_db - 0.0) / 25.0, 0.0, 1.0))
        clip = 1.0 - min(self.clipping_ratio * 20.0, 1.0)
        band = 1.0 if self.bandwidth_hz >= 6000 else 0.8
        return round(float(0.4 * speech + 0.35 * snr + 0.15 * clip + 0.1 * band), 4)


def assess_quality(
    samples: FloatArray, segments: list[SpeechSegment], settings: Settings
) -> QualityReport:
    duration = samples.size / TARGET_SAMPLE_RATE
    speech = speech_only(samples, segments)
    speech_s = speech.size / TARGET_SAMPLE_RATE
    clipping = float(np.mean(np.abs(samples) >= 0.999)) if samples.size else 0.0
    level = _rms_dbfs(speech if speech.size else samples)
    snr = _snr_db(samples)
    bandwidth = _effective_bandwidth(speech if speech.size >= _FRAME else samples)
    return quality_report(duration, speech_s, clipping, level, snr, bandwidth, settings)


def quality_report(
    duration_s: float,
    speech_s: float,
    clipping_ratio: float,
    level_dbfs: float,
    snr_db: float,
    bandwidth_hz: float,
    settings: Settings,
) -> QualityReport:
    """The report, with its codes, of measurements made on audio or on its features."""
    codes: list[QualityCode] = []
    if speech_s < 0.1:
        codes.append(QualityCode.NO_SPEECH)
    elif speech_s < settings.min_speech_s:
        codes.append(QualityCode.TOO_SHORT)
    if clipping_ratio >= settings.clipping_warn_ratio:
        codes.append(QualityCode.CLIPPED)
    if speech_s >= 0.1 and snr_db < settings.min_snr_db:
        codes.append(QualityCode.TOO_NOISY)
    if speech_s >= 0.1 and level_dbfs < TOO_QUIET_DBFS:
        codes.append(QualityCode.TOO_QUIET)
    if bandwidth_hz < settings.narrowband_hz:
        codes.append(QualityCode.NARROWBAND)
    return QualityReport(
        duration_s=round(duration_s, 3),
        speech_s=round(speech_s, 3),
        clipping_ratio=round(clipping_ratio, 5),
        level_dbfs=round(level_dbfs, 2),
        snr_db=round(snr_db, 2),
        bandwidth_hz=round(bandwidth_hz, 1),
        codes=codes,
    )


def _rms_dbfs(samples: FloatArray) -> float:
    if samples.size == 0:
        return -120.0
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    return float(max(20.0 * np.log10(rms + _EPS), -120.0))


def _frame_energies_db(samples: FloatArray) -> FloatArray:
    if samples.size < _FRAME:
        return np.array([_rms_dbfs(samples)], dtype=np.float32)
    n = 1 + (samples.size - _FRAME) // _HOP
    idx = np.arange(_FRAME)[None, :] + _HOP * np.arange(n)[:, None]
    frames = samples[idx].astype(np.float64)
    energy = np.mean(frames**2, axis=1)
    db: FloatArray = (10.0 * np.log10(energy + _EPS)).astype(np.float32)
    return db


def _snr_db(samples: FloatArray) -> float:
    return snr_of_energies(_frame_energies_db(samples))


def snr_of_energies(energies_db: FloatArray) -> float:
    """Spread between loud (speech) and quiet (noise floor) frame energies, in dB.

    A percentile estimate needs no clean reference and does not trust the VAD, which is itself
    least reliable in noise.
    """
    if energies_db.size < 10:
        return 30.0
    signal = float(np.percentile(energies_db, 95))
    noise = float(np.percentile(energies_db, 10))
    if signal <= -100:
        return 0.0
    return float(np.clip(signal - noise, 0.0, 80.0))


def _effective_bandwidth(samples: FloatArray) -> float:
    """Highest frequency whose long-term level is within ``BANDWIDTH_RANGE_DB`` of the peak."""
    if samples.size < _FRAME:
        return 0.0
    n_fft = 512
    n = 1 + (samples.size - n_fft) // 256 if samples.size >= n_fft else 0
    if n <= 0:
        return 0.0
    idx = np.arange(n_fft)[None, :] + 256 * np.arange(n)[:, None]
    window = np.hanning(n_fft)
    spectrum = np.mean(np.abs(np.fft.rfft(samples[idx] * window, axis=1)) ** 2, axis=0)
    db = 10.0 * np.log10(spectrum + _EPS)
    # Ignore DC and the lowest bins, where hum dominates.
    db[:3] = db[3]
    above = np.nonzero(db >= db.max() - BANDWIDTH_RANGE_DB)[0]
    if above.size == 0:
        return 0.0
    return float(above[-1] * TARGET_SAMPLE_RATE / n_fft)
