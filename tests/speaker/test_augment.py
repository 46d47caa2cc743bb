"""The simulated phone line: narrowband, same length, AMR-NB modes checked."""

import numpy as np
import pytest

from voxguard.speaker.augment import AMR_NB_BITRATES, phone_channel


def _band_energy(x: np.ndarray, low_hz: float, high_hz: float) -> float:
    spectrum = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(x.size, 1 / 16000)
    return float(spectrum[(freqs >= low_hz) & (freqs < high_hz)].sum())


def _voice_like(seconds: float = 2.0) -> np.ndarray:
    rng = np.random.default_rng(0)
    t = np.arange(int(16000 * seconds)) / 16000
    tones = sum(np.sin(2 * np.pi * f * t) / (k + 1) for k, f in enumerate(range(150, 7000, 150)))
    return (0.05 * tones + 0.01 * rng.standard_normal(t.size)).astype(np.float32)


@pytest.mark.parametrize("bit_rate", [AMR_NB_BITRATES[0], AMR_NB_BITRATES[-1]])
def test_phone_channel_keeps_length_and_removes_the_wideband_part(bit_rate: int) -> None:
    x = _voice_like()
    y = phone_channel(x, bit_rate=bit_rate)
    assert y.shape == x.shape and y.dtype == np.float32
    wide_before = _band_energy(x, 4500, 8000) / _band_energy(x, 300, 3400)
    wide_after = _band_energy(y, 4500, 8000) / _band_energy(y, 300, 3400)
    assert wide_after < 0.01 * wide_before


def test_an_unknown_amr_mode_is_refused_with_the_accepted_ones() -> None:
    with pytest.raises(ValueError, match="12200"):
        phone_channel(_voice_like(0.5), bit_rate=8000)


@pytest.mark.parametrize("samples", [16_001, 3_333])
@pytest.mark.parametrize("codec_shortfall", [0, 160, -80])
def test_phone_channel_keeps_the_timeline_when_the_codec_returns_another_length(
    monkeypatch: pytest.MonkeyPatch, samples: int, codec_shortfall: int
) -> None:
    """A codec that drops or pads a frame must not shorten the call or shift what follows."""
    import voxguard.speaker.augment as augment

    real = augment.encode_decode

    def drifting_codec(*args: object, **kwargs: object) -> np.ndarray:
        coded = real(*args, **kwargs)  # type: ignore[arg-type]
        if codec_shortfall >= 0:
            return coded[: coded.size - codec_shortfall]
        return np.concatenate([coded, np.zeros(-codec_shortfall, dtype=np.float32)])

    x = _voice_like(samples / 16000)
    faithful = phone_channel(x, codec="pcm_mulaw")
    monkeypatch.setattr(augment, "encode_decode", drifting_codec)
    drifted = phone_channel(x, codec="pcm_mulaw")
    assert drifted.shape == x.shape and drifted.dtype == np.float32
    # everything before the codec's last frame is where it was: no shift in time
    head = samples - 2_000
    np.testing.assert_allclose(drifted[:head], faithful[:head], atol=1e-4)
