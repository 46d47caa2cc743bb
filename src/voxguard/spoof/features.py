"""Window extraction and spectral features for the spoof detector (numpy only).

Training and serving both call these functions, so the detector sees the same level
normalisation, windowing and spectrogram at both times.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from types import ModuleType

import numpy as np
import numpy.typing as npt

from voxguard.audio.types import PHONE_BAND_HZ, FloatArray
from voxguard.audio.vad import SpeechSegment, SpeechTimeline, speech_only


@dataclass(frozen=True)
class FeatureParams:
    """Everything that shapes the model input; stored in the sidecar and checked at load."""

    sample_rate: int = 16000
    window_s: float = 4.0
    hop_s: float = 2.0
    min_speech_s: float = 0.5
    target_rms_dbfs: float = -26.0
    n_fft: int = 512
    frame_hop: int = 256
    bands: int = 128
    floor_db: float = -90.0
    # The speech-encoder branch's front end (Whisper's STFT: 25 ms frames, 10 ms hop).
    encoder_n_fft: int = 400
    encoder_hop: int = 160

    @property
    def window_samples(self) -> int:
        return round(self.window_s * self.sample_rate)

    @property
    def hop_samples(self) -> int:
        return round(self.hop_s * self.sample_rate)

    @property
    def frames(self) -> int:
        return 1 + (self.window_samples - self.n_fft) // self.frame_hop

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


def normalize_level(samples: FloatArray, target_dbfs: float) -> FloatArray:
    """Scale to a fixed RMS level; digital silence stays silent."""
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if samples.size else 0.0
    if rms < 1e-7:
        return samples.astype(np.float32)
    gain = 10.0 ** (target_dbfs / 20.0) / rms
    out: FloatArray = (samples * gain).astype(np.float32)
    return out


DIGITAL_SILENCE = 1e-4  # |sample| at or below this is digital silence, not sound


def speech_or_fallback(
    samples: FloatArray, speech: FloatArray, params: FeatureParams
) -> tuple[FloatArray, bool]:
    """The VAD's speech, or the clip without its digitally silent samples when the VAD kept
    less than ``min_speech_s``; the flag says whether the VAD's speech was used.

    Whispered or very clean synthetic speech can defeat the VAD: such a clip is scored on
    what it holds rather than refused (training sees the same fallback).
    """
    if speech.size >= int(params.min_speech_s * params.sample_rate):
        return speech, True
    return samples[np.abs(samples) > DIGITAL_SILENCE], False


def speech_with_timeline(
    samples: FloatArray, segments: list[SpeechSegment], params: FeatureParams
) -> tuple[FloatArray, bool, SpeechTimeline]:
    """``speech_or_fallback`` of the VAD's ``segments``, with where each piece of the scored
    audio lies in ``samples`` (so window times can be given on the recording's time axis)."""
    speech, used_vad = speech_or_fallback(samples, speech_only(samples, segments), params)
    if used_vad:
        return speech, True, SpeechTimeline.of_segments(segments)
    return speech, False, SpeechTimeline.of_mask(np.abs(samples) > DIGITAL_SILENCE)


# A phone line (8 kHz sampling, 300-3400 Hz) leaves nothing above 4 kHz; wideband speech,
# even band-limited by a low-bit-rate codec, keeps something there. The upper band starts at
# 4.6 kHz, clear of the 4 kHz transition band an 8 kHz file's resampling to 16 kHz leaks.
ABOVE_PHONE_BAND_HZ = (4600.0, 7600.0)


def high_band_db(speech: FloatArray, sample_rate: int, n_fft: int = 512) -> float:
    """Mean power above the telephone band relative to within it, in dB, over the speech.

    Measured: -37 dB or more on every clean demo-page window, -27 dB or more on LibriSpeech
    files; -49 dB or less on 99% of demo-page windows through AMR-NB, G.711 or G.723.1 and
    -63 dB or less on whole LibriSpeech files through a phone line or saved at 8 kHz, whatever
    the file's own sample rate. Returns 0.0 when there is less than one frame.
    """
    return _band_ratio_db(speech, sample_rate, ABOVE_PHONE_BAND_HZ, PHONE_BAND_HZ, n_fft)


# MP3 encoders at 16 kHz cut the band at about 7.3 kHz, and a steep low-pass near 7 kHz does
# the same; the top of the band then holds only the 16-bit rounding floor. Natural speech and
# vocoders rolled off at 7.6-8 kHz keep something there. The reference band stays below 6.8
# kHz, under every cutoff of that kind.
TOP_BAND_HZ = (7450.0, 7900.0)
BELOW_TOP_BAND_HZ = (4600.0, 6800.0)


def top_band_db(speech: FloatArray, sample_rate: int, n_fft: int = 512) -> float:
    """Mean power at the top of a 16 kHz recording's band (7.45-7.9 kHz) relative to 4.6-6.8
    kHz, in dB, over the speech.

    Measured over VAD speech of 400 clips (see
    docs/models/experiments/2026-12-04-band-limited-calibration.md): 1st percentile -31 dB for
    clean genuine demo-page clips, -29 dB for demo-page spoofs, -39 dB for LibriSpeech files
    (LibriVox MP3s at the source); 99th percentile -41 dB or less through MP3 at 64 kbit/s, -30
    to -39 dB through an 8th-order 7 kHz low-pass (so a few low-passed clips stay above a -40 dB
    threshold). Opus, AAC and an HD-voice call (G.722 refills the cut band with quantisation
    noise) keep the top band: 1st percentile -16 to -39 dB. Returns 0.0 when there is less than
    one frame.
    """
    return _band_ratio_db(speech, sample_rate, TOP_BAND_HZ, BELOW_TOP_BAND_HZ, n_fft)


def _band_ratio_db(
    speech: FloatArray,
    sample_rate: int,
    band_hz: tuple[float, float],
    reference_hz: tuple[float, float],
    n_fft: int,
) -> float:
    """Mean power in ``band_hz`` relative to ``reference_hz``, in dB, over the speech."""
    count = speech.size // n_fft
    if count == 0:
        return 0.0
    power = np.mean(_frame_power(speech.astype(np.float64), n_fft, n_fft, count), axis=0)
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)

    def band(edges: tuple[float, float]) -> float:
        return float(np.mean(power[(freqs >= edges[0]) & (freqs <= edges[1])]))

    reference = band(reference_hz)
    if reference <= 0.0:
        return 0.0
    return float(10.0 * np.log10(band(band_hz) / reference + 1e-20))


def make_windows(speech: FloatArray, params: FeatureParams) -> list[tuple[float, FloatArray]]:
    """Fixed windows over speech-only audio as (start second, samples).

    Speech shorter than one window is repeated (wrapped) up to the window length, so that a
    short clip and a long one reach the model in the same shape. Returns no window when there
    is less than ``min_speech_s`` of speech.
    """
    n, hop = params.window_samples, params.hop_samples
    if speech.size < int(params.min_speech_s * params.sample_rate):
        return []
    if speech.size < n:
        reps = int(np.ceil(n / speech.size))
        return [(0.0, np.tile(speech, reps)[:n].astype(np.float32))]
    starts = list(range(0, speech.size - n + 1, hop))
    # Cover the tail too: a last window ending at the end of the speech.
    if starts[-1] + n < speech.size and speech.size - (starts[-1] + n) > hop // 2:
        starts.append(speech.size - n)
    return [(s / params.sample_rate, speech[s : s + n].astype(np.float32)) for s in starts]


def _hann(n: int) -> npt.NDArray[np.float64]:
    return 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)


def _frame_power(
    x: npt.NDArray[np.float64], n_fft: int, hop: int, count: int
) -> npt.NDArray[np.float64]:
    """Power spectra (count, n_fft/2 + 1) of ``count`` periodic-Hann frames ``hop`` apart."""
    idx = np.arange(n_fft)[None, :] + hop * np.arange(count)[:, None]
    power: npt.NDArray[np.float64] = (
        np.abs(np.fft.rfft(x[idx] * _hann(n_fft)[None, :], axis=1)) ** 2
    )
    return power


def log_spectrogram(window: FloatArray, params: FeatureParams) -> FloatArray:
    """Level-normalised log power in ``bands`` linear bands x frames, in dB (bands, frames).

    Linear bands (not mel) keep the resolution above 4 kHz, where vocoders leave most of
    their traces.
    """
    x = normalize_level(window.astype(np.float32), params.target_rms_dbfs).astype(np.float64)
    n_fft, hop = params.n_fft, params.frame_hop
    count = 1 + (x.size - n_fft) // hop
    power = _frame_power(x, n_fft, hop, count)  # (frames, n_fft/2 + 1)
    bins = power[:, 1:]
    per_band = bins.shape[1] // params.bands
    banded = bins[:, : per_band * params.bands].reshape(count, params.bands, per_band).mean(axis=2)
    db = 10.0 * np.log10(banded + 1e-12)
    db = np.maximum(db, params.floor_db)
    out: FloatArray = db.T.astype(np.float32)
    return out


def power_spectrogram(window: FloatArray, params: FeatureParams) -> FloatArray:
    """Level-normalised STFT power (n_fft/2 + 1 bins, frames) as Whisper's front end computes it.

    Periodic Hann window, centred frames with reflect padding, and the last frame dropped, so
    a 4 s window gives exactly 400 frames. The mel projection and log compression live in the
    ONNX graph, next to the encoder weights they were trained with.
    """
    x = normalize_level(window.astype(np.float32), params.target_rms_dbfs).astype(np.float64)
    n_fft, hop = params.encoder_n_fft, params.encoder_hop
    x = np.pad(x, n_fft // 2, mode="reflect")
    count = 1 + (x.size - n_fft) // hop - 1
    out: FloatArray = _frame_power(x, n_fft, hop, count).T.astype(np.float32)
    return out


def spectral_statistics(spec: FloatArray) -> FloatArray:
    """Fixed-length summary of one window's log spectrogram (bands, frames); 892 values.

    Per band: mean, standard deviation and mean absolute frame-to-frame change; the mean and
    standard deviation of 30 cepstral coefficients (DCT over the bands); the spread of the
    spectral fine structure (deviation from a 5-band moving average, where vocoders smear
    harmonics and noise); the temporal modulation spectrum of 16 band groups in 4 ranges;
    and each band's frame-to-frame correlation.
    """
    bands = spec.shape[0]
    k = np.arange(30)[:, None]
    m = np.arange(bands)[None, :]
    dct = np.cos(np.pi * k * (2 * m + 1) / (2 * bands)).astype(np.float32)
    cep = dct @ spec
    delta = np.abs(np.diff(spec, axis=1))
    padded = np.pad(spec, ((2, 2), (0, 0)), mode="edge")
    smooth = sum(padded[i : i + bands] for i in range(5)) / 5.0
    fine = spec - smooth
    centred = spec - spec.mean(axis=1, keepdims=True)
    mod = np.abs(np.fft.rfft(centred, axis=1))[:, 1:33]
    groups = bands // 8
    mod = np.log(mod.reshape(groups, 8, 4, 8).mean(axis=(1, 3)) + 1e-3).reshape(-1)
    lag1 = (centred[:, 1:] * centred[:, :-1]).mean(axis=1) / (centred.var(axis=1) + 1e-3)
    parts = [
        spec.mean(axis=1),
        spec.std(axis=1),
        delta.mean(axis=1),
        cep.mean(axis=1),
        cep.std(axis=1),
        fine.std(axis=1),
        np.abs(fine).mean(axis=1),
        mod,
        lag1,
    ]
    out: FloatArray = np.concatenate(parts).astype(np.float32)
    return out


# The phase view (docs/models/experiments/2026-12-06-phase-view.md): 16 linear bands of 16
# bins of a 512-point STFT, hop 128; a 2048-point long-term spectrum, hop 512.
PHASE_N_FFT = 512
PHASE_HOP = 128
PHASE_BANDS = 16
FINE_N_FFT = 2048
FINE_HOP = 512
FINE_SMOOTH_BINS = 33
FINE_LAGS = 48
PHASE_DIMS = 5 * PHASE_BANDS + FINE_LAGS


def _banded_circular(product: npt.NDArray[np.complex128]) -> npt.NDArray[np.float64]:
    """Per band of PHASE_BANDS (16 bins each), from the phase of ``product`` (frames, bins),
    each value weighted by its modulus: how steady each bin's phase is over the frames (its
    mean resultant length, averaged over the band's bins), and the mean (1 - cos)."""
    bins = PHASE_BANDS * 16
    per_bin = product[:, :bins].sum(axis=0).reshape(PHASE_BANDS, 16)
    total = np.abs(product[:, :bins]).sum(axis=0).reshape(PHASE_BANDS, 16).sum(axis=1) + 1e-12
    steady = np.abs(per_bin).sum(axis=1) / total
    return np.concatenate([steady, 1.0 - per_bin.real.sum(axis=1) / total])


def phase_statistics(window: FloatArray) -> FloatArray:
    """Phase and fine-spectrum summary of one 16 kHz window; PHASE_DIMS (128) values.

    Per 16-bin band of a 512-point STFT (hop 128): the mean resultant length and mean
    (1 - cos) of the phase advance's deviation from a stationary sinusoid at the bin centre,
    and the same of the group delay (the phase step between adjacent bins of frames rotated
    by half a window, so that a centred pulse has none); each weighted by the magnitudes
    involved. Then, of the 2048-point mean log spectrum minus its 33-bin moving average, the
    spread per band and the autocorrelation at lags 1-48 bins, where the spectral lines of a
    vocoder's up-sampling layers would show.
    """
    x = window.astype(np.float64)
    x = x / (np.sqrt(np.mean(x**2)) + 1e-9)
    count = 1 + (x.size - PHASE_N_FFT) // PHASE_HOP
    idx = np.arange(PHASE_N_FFT)[None, :] + PHASE_HOP * np.arange(count)[:, None]
    spec = np.fft.rfft(x[idx] * _hann(PHASE_N_FFT)[None, :], axis=1)[:, 1:]  # bins 1..256
    k = np.arange(1, spec.shape[1] + 1)
    # A stationary sinusoid at bin k advances by 2 pi k hop / n_fft per frame; the product's
    # modulus |X_t||X_t-1| weights each bin by its energy in both frames.
    unadvance = np.exp(-2j * np.pi * k * PHASE_HOP / PHASE_N_FFT)
    advance = spec[1:] * np.conj(spec[:-1]) * unadvance[None, :]
    # Rotating a frame by n_fft / 2 multiplies bin k by (-1)^k, so adjacent bins of the
    # rotated frame differ by minus the plain frame's step.
    delay = np.pad(-spec[:, 1:] * np.conj(spec[:, :-1]), ((0, 0), (0, 1)))
    n_long = 1 + (x.size - FINE_N_FFT) // FINE_HOP
    ltas = 10.0 * np.log10(_frame_power(x, FINE_N_FFT, FINE_HOP, n_long).mean(axis=0) + 1e-10)
    kernel = np.ones(FINE_SMOOTH_BINS) / FINE_SMOOTH_BINS
    half = FINE_SMOOTH_BINS // 2
    residual = (ltas - np.convolve(np.pad(ltas, half, mode="edge"), kernel, mode="valid"))[1:]
    bands = residual[: (residual.size // PHASE_BANDS) * PHASE_BANDS].reshape(PHASE_BANDS, -1)
    centred = residual - residual.mean()
    var = float(np.sum(centred**2)) + 1e-9
    acf = [np.sum(centred[lag:] * centred[:-lag]) / var for lag in range(1, FINE_LAGS + 1)]
    parts = [_banded_circular(advance), _banded_circular(delay), bands.std(axis=1), acf]
    out: FloatArray = np.concatenate(parts).astype(np.float32)
    return out


def require_librosa() -> ModuleType:
    """librosa, or ModelUnavailable saying how to install it (checked when a model loads)."""
    try:
        import librosa
    except ImportError as exc:
        from voxguard.errors import ModelUnavailable

        raise ModelUnavailable(
            "this spoof model (the librosa + RandomForest baseline) needs librosa, which the "
            "service does not install: pip install 'voxguard[train]'"
        ) from exc
    return librosa


def summary_features(window: FloatArray, params: FeatureParams) -> FloatArray:
    """The named baseline's 26 librosa summary features of one level-normalised window.

    Chroma, RMS, spectral centroid / bandwidth / rolloff, zero-crossing rate (each averaged
    over frames) and the means of 20 MFCCs: the recipe many projects ship. Only the baseline
    model uses them; librosa comes with the ``train`` extra, not with the service.
    """
    librosa = require_librosa()
    y = normalize_level(window.astype(np.float32), params.target_rms_dbfs)
    sr = params.sample_rate
    feats = [
        np.mean(librosa.feature.chroma_stft(y=y, sr=sr)),
        np.mean(librosa.feature.rms(y=y)),
        np.mean(librosa.feature.spectral_centroid(y=y, sr=sr)),
        np.mean(librosa.feature.spectral_bandwidth(y=y, sr=sr)),
        np.mean(librosa.feature.spectral_rolloff(y=y, sr=sr)),
        np.mean(librosa.feature.zero_crossing_rate(y)),
    ]
    mfcc = librosa.feature.mfcc(y=y, sr=sr, n_mfcc=20).mean(axis=1)
    out: FloatArray = np.asarray([*feats, *mfcc], dtype=np.float32)
    return out
