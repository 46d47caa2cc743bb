"""Privacy mode: speaker-encoder input features sent instead of audio.

The client computes, on the whole 16 kHz mono recording (raw samples, not volume-normalised):

* ``mel``: the power mel frames of :func:`voxguard.speaker.features.mel_spectrogram`
  (n_fft 400, hop 160, 40 Slaney mels, periodic Hann, ``center=True`` with zero padding, no
  log), shape (frames, 40) with ``frames = 1 + n_samples // 160``;
* ``frame_rms``: one value per mel frame, ``frame_rms[t] = sqrt(sum(x[t*160 : t*160+160]**2)
  / 160)``, the samples past the end counted as zeros (so ``160 * sum(frame_rms**2)`` is the
  recording's energy);
* ``n_samples``: the recording's length in samples;
* ``fbank`` (needed when the server's speaker model is CAM++, ``Settings.speaker_model``): the
  80 Kaldi log mel filterbanks of :func:`voxguard.speaker.campplus.kaldi_fbank` (25 ms Povey
  window, 10 ms hop, pre-emphasis 0.97, DC removed, no dither, ``snip_edges``, samples in
  [-1, 1]), shape (frames, 80) with ``frames = 1 + (n_samples - 400) // 160`` (none under
  400 samples); frame ``i`` covers samples ``[160 i, 160 i + 400)``, so it is taken as speech
  when mel frame ``i + 1`` (centred at ``160 (i + 1)``) is.

From these the server finds speech without audio (Silero needs the waveform) with an energy
VAD on frames: a frame's level is the sum of its mel bands centred in the speech band
(``band_hz``, 150-4000 Hz: rumble and hum below it, hiss above it do not count); a frame is
speech when that level is at least ``relative`` of the way from the noise floor (the 10th
percentile of the levels) to the speech level (the 95th percentile) and ``frame_rms`` is
above ``floor_dbfs``. Like Silero's segmentation it then bridges pauses shorter than
``min_silence_s``, drops bursts shorter than ``min_speech_s`` and pads each run by ``pad_s``
(the same 0.1, 0.25 and 0.03 s).
The kept frames are volume-normalised as the encoder normalises samples (a gain from their RMS,
increase only) applied as gain squared to the power mel, and the quality report (speech,
level, SNR, bandwidth) is estimated from the same frames so scoring paths and quality
feedback work as for audio. Clipping cannot be seen in these features and is reported as 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from voxguard.audio.quality import (
    BANDWIDTH_RANGE_DB,
    QualityReport,
    quality_report,
    snr_of_energies,
)
from voxguard.audio.types import FloatArray
from voxguard.config import Settings
from voxguard.errors import FeaturesTooLong, InvalidFeatures
from voxguard.speaker.campplus import N_MELS as FBANK_BINS
from voxguard.speaker.campplus import kaldi_fbank
from voxguard.speaker.encoder import volume_gain
from voxguard.speaker.features import MelConfig, mel_frequencies, mel_spectrogram

MEL = MelConfig()
FRAMES_PER_S = MEL.sample_rate / MEL.hop_length
_EPS = 1e-10  # energy floor: -100 dB, as the audio quality checks
# Bands centred below this carry hum rather than speech: left out of the bandwidth's peak, as
# the audio path leaves out its lowest FFT bins.
_HUM_HZ = 100.0
# A 400-sample energy frame (what the audio SNR is measured on) spans 2.5 hops.
_SNR_HOP_WEIGHTS = np.array([1.0, 1.0, 0.5]) / 2.5


@dataclass(frozen=True)
class EnergyVadParams:
    relative: float = 0.2
    floor_dbfs: float = -60.0
    band_hz: tuple[float, float] = (150.0, 4000.0)
    min_speech_s: float = 0.25
    min_silence_s: float = 0.1
    pad_s: float = 0.03


@dataclass(frozen=True)
class MelFeatures:
    """A validated payload: power mel (frames, 40), frame RMS (frames,), length in samples,
    and the Kaldi filterbanks (frames, 80) when the client sent them."""

    mel: FloatArray
    frame_rms: FloatArray
    n_samples: int
    fbank: FloatArray | None = None

    @property
    def n_frames(self) -> int:
        return int(self.mel.shape[0])


@dataclass(frozen=True)
class FrameAnalysis:
    """Features, which frames hold speech, and the quality estimated from them."""

    features: MelFeatures
    speech: npt.NDArray[np.bool_]
    quality: QualityReport

    @property
    def speech_s(self) -> float:
        return int(self.speech.sum()) / FRAMES_PER_S

    def speech_mel(self, target_dbfs: float) -> FloatArray:
        """The speech frames, volume-normalised to ``target_dbfs`` as the encoder does audio."""
        gain = volume_gain(_rms(self.features.frame_rms[self.speech]), target_dbfs)
        mel: FloatArray = (self.features.mel[self.speech] * np.float32(gain**2)).astype(np.float32)
        return mel

    def speech_fbank(self) -> FloatArray:
        """The Kaldi filterbank frames whose centre falls in speech (CAM++'s input)."""
        fbank = self.features.fbank
        if fbank is None:
            raise InvalidFeatures(
                "fbank is missing: this server's speaker model (CAM++) embeds 80 Kaldi "
                "filterbanks per frame (frames = 1 + (n_samples - 400) // 160); send them as "
                "'fbank' next to 'mel' and 'frame_rms'.",
                field="fbank",
                accepted="(frames, 80) Kaldi log mel filterbanks",
            )
        keep = self.speech[1 : 1 + fbank.shape[0]]
        speech: FloatArray = fbank[keep]
        if speech.shape[0] == 0:
            raise InvalidFeatures(
                "fbank holds no frame inside the speech found in mel; send at least 400 samples.",
                field="fbank",
                accepted="(frames, 80) Kaldi log mel filterbanks",
            )
        return speech


def frame_rms(samples: FloatArray) -> FloatArray:
    """RMS of each 160-sample hop, one per mel frame, samples past the end counted as zeros."""
    n_frames = 1 + samples.size // MEL.hop_length
    padded = np.zeros(n_frames * MEL.hop_length, dtype=np.float64)
    padded[: samples.size] = samples
    rms: FloatArray = np.sqrt(np.mean(np.square(padded.reshape(n_frames, -1)), axis=1)).astype(
        np.float32
    )
    return rms


def features_of(samples: FloatArray) -> MelFeatures:
    """What a privacy-mode client sends for 16 kHz mono ``samples`` (the reference of
    ``web/src/lib/melFeatures.ts``)."""
    samples = np.asarray(samples, dtype=np.float32)
    return MelFeatures(
        mel_spectrogram(samples, MEL), frame_rms(samples), int(samples.size), kaldi_fbank(samples)
    )


def fbank_frames(n_samples: int) -> int:
    """Kaldi filterbank frames of ``n_samples`` (``snip_edges``: whole 400-sample frames)."""
    return 0 if n_samples < MEL.n_fft else 1 + (n_samples - MEL.n_fft) // MEL.hop_length


def check_features(
    mel: Sequence[Sequence[float]] | FloatArray,
    frame_rms: Sequence[float] | FloatArray,
    n_samples: int,
    *,
    sample_rate: int,
    n_fft: int,
    hop_length: int,
    n_mels: int,
    max_duration_s: float,
    fbank: Sequence[Sequence[float]] | FloatArray | None = None,
) -> MelFeatures:
    """Validate a client payload; every refusal names what was wrong and what is accepted."""
    for name, got, want in (
        ("sample_rate", sample_rate, MEL.sample_rate),
        ("n_fft", n_fft, MEL.n_fft),
        ("hop_length", hop_length, MEL.hop_length),
        ("n_mels", n_mels, MEL.n_mels),
    ):
        if got != want:
            raise InvalidFeatures(
                f"{name} is {got}; only {want} is accepted (16 kHz mono, n_fft 400, hop 160, "
                "40 mels).",
                field=name,
                accepted=want,
            )
    max_samples = int(max_duration_s * MEL.sample_rate)
    if n_samples > max_samples:
        raise FeaturesTooLong(
            f"The features describe {n_samples / MEL.sample_rate:.1f} s of audio; at most "
            f"{max_duration_s:.0f} s is accepted (setting VOXGUARD_MAX_DURATION_S).",
            max_duration_s=max_duration_s,
        )
    if n_samples < 1:
        raise InvalidFeatures(
            f"n_samples is {n_samples}; it must be at least 1.", field="n_samples", accepted=">= 1"
        )
    frames = 1 + n_samples // MEL.hop_length
    rows = len(mel)
    if rows != frames:
        raise InvalidFeatures(
            f"mel has {rows} frames; {n_samples} samples make 1 + {n_samples} // 160 = {frames}.",
            field="mel",
            accepted=frames,
        )
    _check_width("mel", mel, MEL.n_mels)
    if len(frame_rms) != frames:
        raise InvalidFeatures(
            f"frame_rms has {len(frame_rms)} values; it needs one per mel frame ({frames}).",
            field="frame_rms",
            accepted=frames,
        )
    mel_array = _finite_non_negative("mel", mel)
    rms_array = _finite_non_negative("frame_rms", frame_rms)
    fbank_array = None if fbank is None else _check_fbank(fbank, n_samples)
    return MelFeatures(mel=mel_array, frame_rms=rms_array, n_samples=n_samples, fbank=fbank_array)


def _check_fbank(fbank: Sequence[Sequence[float]] | FloatArray, n_samples: int) -> FloatArray:
    frames = fbank_frames(n_samples)
    if len(fbank) != frames:
        raise InvalidFeatures(
            f"fbank has {len(fbank)} frames; {n_samples} samples make 1 + ({n_samples} - 400) "
            f"// 160 = {frames} (none under 400 samples).",
            field="fbank",
            accepted=frames,
        )
    if frames == 0:
        return np.zeros((0, FBANK_BINS), np.float32)
    _check_width("fbank", fbank, FBANK_BINS)
    # log energies: any finite value (float64 first, so an overflow is an error, not infinity)
    array = np.asarray(fbank, dtype=np.float64)
    bad = ~np.isfinite(array) | (np.abs(array) > np.finfo(np.float32).max)
    if bad.any():
        where = [int(i) for i in np.argwhere(bad)[0]]
        raise InvalidFeatures(
            f"fbank{where} is {float(array[tuple(where)])}; values must be finite (log energies).",
            field="fbank",
            accepted="finite",
        )
    return array.astype(np.float32)


def _check_width(name: str, rows: Sequence[Sequence[float]] | FloatArray, width: int) -> None:
    """Every row of ``rows`` (the payload field ``name``) has ``width`` values."""
    widths = {len(row) for row in rows} if not isinstance(rows, np.ndarray) else {rows.shape[1]}
    if widths != {width}:
        raise InvalidFeatures(
            f"{name} rows have {sorted(widths)} values; each frame must have {width}.",
            field=name,
            accepted=width,
        )


def _finite_non_negative(
    name: str, values: Sequence[float] | Sequence[Sequence[float]] | FloatArray
) -> FloatArray:
    # float64 first: a value beyond float32's range is an error, not a silent infinity.
    array = np.asarray(values, dtype=np.float64)
    bad = ~np.isfinite(array) | (array < 0)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise InvalidFeatures(
            f"{name}{list(where)} is {float(array[where])}; values must be finite and >= 0 (powers "
            "and RMS levels).",
            field=name,
            accepted="finite, >= 0",
        )
    if array.size and array.max() > np.finfo(np.float32).max:
        raise InvalidFeatures(f"{name} holds values beyond float32 range.", field=name)
    return array.astype(np.float32)


def analyze_frames(
    features: MelFeatures, settings: Settings, params: EnergyVadParams | None = None
) -> FrameAnalysis:
    """Find speech with the energy VAD and estimate the quality report from the frames."""
    speech = energy_speech_mask(features, params)
    speech_s = int(speech.sum()) / FRAMES_PER_S
    levels = features.frame_rms[speech] if speech.any() else features.frame_rms
    quality = quality_report(
        duration_s=features.n_samples / MEL.sample_rate,
        speech_s=speech_s,
        clipping_ratio=0.0,
        level_dbfs=max(20.0 * float(np.log10(_rms(levels) + 1e-10)), -120.0),
        snr_db=snr_of_energies(_energy_frames_db(features)),
        bandwidth_hz=_bandwidth_hz(features.mel[speech] if speech.any() else features.mel),
        settings=settings,
    )
    return FrameAnalysis(features=features, speech=speech, quality=quality)


def energy_speech_mask(
    features: MelFeatures, params: EnergyVadParams | None = None
) -> npt.NDArray[np.bool_]:
    """Which frames hold speech (see the module docstring for the rule)."""
    params = params or EnergyVadParams()
    low, high = params.band_hz
    centres = mel_frequencies(MEL.sample_rate, MEL.n_mels)[1:-1]
    band = (centres >= low) & (centres <= high)
    level = 10.0 * np.log10(np.sum(features.mel[:, band], axis=1, dtype=np.float64) + _EPS)
    loud_enough = _db(features.frame_rms) >= params.floor_dbfs
    keep = np.zeros(level.size, dtype=bool)
    noise, loud = float(np.percentile(level, 10)), float(np.percentile(level, 95))
    threshold = noise + params.relative * (loud - noise)
    runs: list[list[int]] = []
    for start, end in _runs((level >= threshold) & loud_enough):
        if runs and start - runs[-1][1] < params.min_silence_s * FRAMES_PER_S:
            runs[-1][1] = end
        else:
            runs.append([start, end])
    pad = round(params.pad_s * FRAMES_PER_S)
    for start, end in runs:
        if end - start >= params.min_speech_s * FRAMES_PER_S:
            keep[max(0, start - pad) : end + pad] = True
    return keep


def _db(frame_rms: FloatArray) -> npt.NDArray[np.float64]:
    return 10.0 * np.log10(np.square(frame_rms, dtype=np.float64) + _EPS)


def _runs(mask: npt.NDArray[np.bool_]) -> list[tuple[int, int]]:
    """[start, end) of each run of True."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def _rms(frame_rms: FloatArray) -> float:
    if frame_rms.size == 0:
        return 0.0
    return float(np.sqrt(np.mean(np.square(frame_rms, dtype=np.float64))))


def _energy_frames_db(features: MelFeatures) -> FloatArray:
    """Energies (dB) of 400-sample frames every 160 samples, as the audio SNR measures them,
    each from the 2.5 hops it spans (its third hop counted half)."""
    n = 1 + (features.n_samples - MEL.n_fft) // MEL.hop_length
    if n <= 0:
        energy = np.array([np.mean(np.square(features.frame_rms, dtype=np.float64))])
    else:
        power = np.square(features.frame_rms, dtype=np.float64)
        energy = np.convolve(power, _SNR_HOP_WEIGHTS[::-1], mode="valid")[:n]
    db: FloatArray = (10.0 * np.log10(energy + _EPS)).astype(np.float32)
    return db


def _bandwidth_hz(mel: FloatArray) -> float:
    """Centre of the highest mel band whose long-term level is within ``BANDWIDTH_RANGE_DB``
    of the loudest band (Slaney-normalised bands are power densities, comparable across
    bands as FFT bins are)."""
    if mel.shape[0] == 0:
        return 0.0
    db = 10.0 * np.log10(np.mean(mel, axis=0, dtype=np.float64) + _EPS)
    centres = mel_frequencies(MEL.sample_rate, MEL.n_mels)[1:-1]
    peak = float(db[centres >= _HUM_HZ].max())
    above = np.flatnonzero(db >= peak - BANDWIDTH_RANGE_DB)
    return float(centres[above[-1]]) if above.size else 0.0
