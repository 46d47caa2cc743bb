"""Log-free mel front end of the GE2E encoder, in numpy.

Reproduces ``librosa.feature.melspectrogram(y, sr=16000, n_fft=400, hop_length=160, n_mels=40)``
as Resemblyzer calls it (periodic Hann window, ``center=True`` with zero padding as librosa
0.10+ does, power 2, Slaney-style mel filters with Slaney area normalisation) so serving needs
neither librosa nor torch. ``tests/speaker/test_features.py`` checks it against librosa.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from voxguard.audio.types import FloatArray


@dataclass(frozen=True)
class MelConfig:
    sample_rate: int = 16_000
    n_fft: int = 400
    hop_length: int = 160
    n_mels: int = 40
    pad_mode: str = "constant"


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    f_sp = 200.0 / 3
    min_log_hz, min_log_mel, logstep = 1000.0, 1000.0 / f_sp, np.log(6.4) / 27.0
    mel = hz / f_sp
    high = hz >= min_log_hz
    mel[high] = min_log_mel + np.log(hz[high] / min_log_hz) / logstep
    return mel


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    f_sp = 200.0 / 3
    min_log_hz, min_log_mel, logstep = 1000.0, 1000.0 / f_sp, np.log(6.4) / 27.0
    hz = mel * f_sp
    high = mel >= min_log_mel
    hz[high] = min_log_hz * np.exp(logstep * (mel[high] - min_log_mel))
    return hz


def mel_frequencies(sample_rate: int, n_mels: int) -> np.ndarray:
    """The n_mels + 2 filter edges in Hz: filter i rises from edge i, peaks at i + 1 and
    falls to zero at i + 2 (``librosa.mel_frequencies(n_mels + 2, fmax=sample_rate / 2)``)."""
    mel_edges = _hz_to_mel(np.array([0.0, sample_rate / 2.0]))
    return _mel_to_hz(np.linspace(mel_edges[0], mel_edges[1], n_mels + 2))


@lru_cache(maxsize=4)
def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int) -> FloatArray:
    """Slaney mel filters, shape (n_mels, 1 + n_fft // 2), as ``librosa.filters.mel``."""
    fft_freqs = np.linspace(0.0, sample_rate / 2, 1 + n_fft // 2)
    mel_f = mel_frequencies(sample_rate, n_mels)
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, fft_freqs)
    weights = np.zeros((n_mels, fft_freqs.size))
    for i in range(n_mels):
        lower = -ramps[i] / fdiff[i]
        upper = ramps[i + 2] / fdiff[i + 1]
        weights[i] = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_f[2 : n_mels + 2] - mel_f[:n_mels]))[:, None]
    return weights.astype(np.float32)


@lru_cache(maxsize=4)
def _sparse_filterbank(
    sample_rate: int, n_fft: int, n_mels: int
) -> tuple[npt.NDArray[np.intp], FloatArray, npt.NDArray[np.intp]]:
    """The filterbank as (bin index, weight, first entry of each filter) for ``reduceat``.

    Each triangular filter covers a few contiguous bins, so the projection is a gather, a
    multiply and a segmented sum. A dense ``power @ basis.T`` goes to OpenBLAS, which starts
    its own threads for this size: a few hundred microseconds alone, milliseconds on a loaded
    machine, and more than the one thread the latency budget allows.
    """
    basis = mel_filterbank(sample_rate, n_fft, n_mels)
    bins: list[np.ndarray] = []
    starts: list[int] = []
    total = 0
    for row in basis:
        nonzero = np.flatnonzero(row)
        # An empty filter keeps one zero-weight entry so that reduceat still yields 0 for it.
        nonzero = nonzero if nonzero.size else np.array([0])
        starts.append(total)
        bins.append(nonzero)
        total += nonzero.size
    index = np.concatenate(bins).astype(np.intp)
    rows = np.repeat(np.arange(n_mels), [b.size for b in bins])
    weights = basis[rows, index].astype(np.float32)
    return index, weights, np.asarray(starts, dtype=np.intp)


@lru_cache(maxsize=4)
def _hann(n_fft: int) -> np.ndarray:
    # Periodic Hann (scipy.signal.get_window("hann", n, fftbins=True)).
    return 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n_fft) / n_fft)


def mel_spectrogram(samples: FloatArray, config: MelConfig | None = None) -> FloatArray:
    """Power mel spectrogram, shape (frames, n_mels), frames = 1 + len(samples) // hop."""
    config = config or MelConfig()
    half = config.n_fft // 2
    wav = np.asarray(samples, dtype=np.float32)
    if config.pad_mode == "reflect" and wav.size > half:
        padded = np.pad(wav, half, mode="reflect")
    else:
        padded = np.pad(wav, half, mode="constant")
    n_frames = 1 + (padded.size - config.n_fft) // config.hop_length
    return _frames_to_mel(padded, n_frames, config)


def mel_spectrogram_chunked(
    samples: FloatArray, config: MelConfig | None = None, chunk_frames: int = 6000
) -> FloatArray:
    """Same frames as :func:`mel_spectrogram`, computed ``chunk_frames`` at a time.

    The STFT of 10 minutes at once needs a few hundred MB; in chunks the peak stays near the
    size of the (small) mel output.
    """
    config = config or MelConfig()
    hop, n_fft = config.hop_length, config.n_fft
    n_frames = 1 + samples.size // hop
    if n_frames <= chunk_frames or config.pad_mode != "constant":
        return mel_spectrogram(samples, config)
    half = n_fft // 2
    padded = np.pad(np.asarray(samples, dtype=np.float32), half, mode="constant")
    out = np.empty((n_frames, config.n_mels), dtype=np.float32)
    for first in range(0, n_frames, chunk_frames):
        last = min(first + chunk_frames, n_frames)
        piece = padded[first * hop : (last - 1) * hop + n_fft]
        # The piece already carries its context: compute it unpadded.
        out[first:last] = _frames_to_mel(piece, last - first, config)
    return out


def _frames_to_mel(padded: FloatArray, n_frames: int, config: MelConfig) -> FloatArray:
    frames = np.lib.stride_tricks.as_strided(
        padded,
        shape=(n_frames, config.n_fft),
        strides=(padded.strides[0] * config.hop_length, padded.strides[0]),
        writeable=False,
    )
    spectrum = np.fft.rfft(frames * _hann(config.n_fft).astype(np.float32), axis=1)
    power = (spectrum.real**2 + spectrum.imag**2).astype(np.float32)
    index, weights, starts = _sparse_filterbank(config.sample_rate, config.n_fft, config.n_mels)
    mel: FloatArray = np.add.reduceat(power[:, index] * weights, starts, axis=1)
    return mel.astype(np.float32, copy=False)
