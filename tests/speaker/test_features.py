"""The numpy mel front end reproduces librosa's melspectrogram as Resemblyzer calls it."""

from __future__ import annotations

import numpy as np
import pytest

from voxguard.speaker.features import mel_filterbank, mel_spectrogram, mel_spectrogram_chunked


def _noise(seconds: float) -> np.ndarray:
    rng = np.random.default_rng(0)
    return (0.1 * rng.standard_normal(int(seconds * 16000) + 37)).astype(np.float32)


def test_frame_count_matches_center_padding() -> None:
    wav = _noise(1.0)
    assert mel_spectrogram(wav).shape == (1 + wav.size // 160, 40)


def test_chunked_equals_whole() -> None:
    wav = _noise(3.0)
    whole = mel_spectrogram(wav)
    chunked = mel_spectrogram_chunked(wav, chunk_frames=50)
    np.testing.assert_allclose(chunked, whole, rtol=1e-5, atol=1e-6)


def test_matches_librosa() -> None:
    librosa = pytest.importorskip("librosa", reason="librosa is in the export extra only")
    wav = _noise(2.0)
    ref = librosa.feature.melspectrogram(y=wav, sr=16000, n_fft=400, hop_length=160, n_mels=40)
    ours = mel_spectrogram(wav)
    assert np.max(np.abs(ours - ref.T)) / ref.max() < 1e-5
    basis = librosa.filters.mel(sr=16000, n_fft=400, n_mels=40)
    assert np.max(np.abs(mel_filterbank(16000, 400, 40) - basis)) < 1e-6
