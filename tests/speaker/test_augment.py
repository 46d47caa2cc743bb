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
