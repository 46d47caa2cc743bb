"""The encoder's two entry points, samples and mel frames, embed the same speech alike."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import shared_data
from voxguard.audio import load_audio
from voxguard.speaker.encoder import Ge2eEncoder, normalize_volume, volume_gain
from voxguard.speaker.features import mel_spectrogram


@pytest.fixture(scope="module")
def encoder() -> Ge2eEncoder:
    return Ge2eEncoder()


def test_volume_gain_only_raises_the_level() -> None:
    assert volume_gain(10 ** (-40 / 20), -30.0) == pytest.approx(10 ** (10 / 20))
    assert volume_gain(10 ** (-20 / 20), -30.0) == 1.0
    assert volume_gain(0.0, -30.0) == 1.0
    quiet = np.full(1600, 0.001, dtype=np.float32)  # -60 dBFS
    raised = normalize_volume(quiet, -30.0)
    assert 20 * np.log10(float(np.sqrt(np.mean(raised.astype(np.float64) ** 2)))) == (
        pytest.approx(-30.0, abs=1e-3)
    )


def test_embed_mel_matches_embed(encoder: Ge2eEncoder) -> None:
    wav = load_audio(shared_data("librispeech", "103-1240-0000.flac")).samples
    speech = wav[: wav.size // 160 * 160]
    mel = mel_spectrogram(normalize_volume(speech, encoder.spec.norm_target_dbfs))
    from_samples, from_mel = encoder.embed(speech), encoder.embed_mel(mel)
    # The same windows; only the zero padding after the last sample differs (frames of
    # silence here, zero samples under the last window on the samples path).
    assert encoder.partial_embeddings_mel(mel).shape == encoder.partial_embeddings(speech).shape
    assert float(from_samples @ from_mel) > 0.9999
    assert abs(float(np.linalg.norm(from_mel)) - 1.0) < 1e-5


def test_embed_mel_refuses_a_wrong_shape(encoder: Ge2eEncoder) -> None:
    with pytest.raises(ValueError, match="40"):
        encoder.embed_mel(np.zeros((200, 39), dtype=np.float32))
    with pytest.raises(ValueError):
        encoder.embed_mel(np.zeros((0, 40), dtype=np.float32))
