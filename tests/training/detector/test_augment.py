"""Channel effects for both classes keep the clip's length and level range."""

import numpy as np
import pytest

pytest.importorskip("torch")

from voxguard.training.detector.augment import (
    EFFECTS,
    TEST_CHANNELS,
    TEST_PHONE_LINES,
    TEST_WIDEBAND_LIMITS,
    phone_line,
    quantize_16bit,
    random_channel,
)


def test_every_effect_keeps_length_and_the_random_channel_stays_in_range() -> None:
    rng = np.random.default_rng(0)
    x = (0.3 * rng.standard_normal(24000)).astype(np.float32)
    for effect in EFFECTS:
        assert effect(x, np.random.default_rng(1)).shape == x.shape, effect.__name__
    names = set()
    for seed in range(40):
        y, name = random_channel(x, np.random.default_rng(seed))
        assert y.shape == x.shape and y.dtype == np.float32
        assert float(np.abs(y).max()) <= 1.0
        names.update(name.split("+"))
    assert "phone_line" in names


def test_phone_line_is_narrowband() -> None:
    rng = np.random.default_rng(2)
    x = (0.1 * rng.standard_normal(32000)).astype(np.float32)
    y = phone_line(x, np.random.default_rng(3))
    spectrum = np.abs(np.fft.rfft(y)) ** 2
    freqs = np.fft.rfftfreq(y.size, 1 / 16000)
    assert spectrum[freqs > 4500].sum() < 0.01 * spectrum[(freqs > 300) & (freqs < 3400)].sum()


def test_16bit_storage_rounds_to_the_int16_grid_and_clips() -> None:
    x = np.array([0.0, 0.3, -0.7, 1.5, -2.0, 1e-6], np.float32)
    y = quantize_16bit(x)
    np.testing.assert_allclose(y * 32767.0, np.round(y * 32767.0), atol=1e-3)
    assert y[3] == 1.0 and y[4] == -1.0 and y[5] == 0.0
    assert "amr-nb+16bit" in TEST_PHONE_LINES


def test_every_test_channel_keeps_the_timeline_and_the_wideband_limits_cut_above_7_khz() -> None:
    x = (0.1 * np.random.default_rng(4).standard_normal(32000)).astype(np.float32)
    for name, channel in TEST_CHANNELS.items():
        assert channel(x).shape == x.shape, name
    freqs = np.fft.rfftfreq(x.size, 1 / 16000)

    def above_7k6_relative_to_1_6k(y: np.ndarray) -> float:
        spectrum = np.abs(np.fft.rfft(y)) ** 2
        return float(
            spectrum[freqs > 7600].mean() / spectrum[(freqs > 1000) & (freqs < 6000)].mean()
        )

    assert above_7k6_relative_to_1_6k(TEST_WIDEBAND_LIMITS["lowpass-7k"](x)) < 1e-3
    # G.722 codes 4-8 kHz coarsely: its quantisation noise refills part of the cut band.
    assert above_7k6_relative_to_1_6k(TEST_WIDEBAND_LIMITS["hd-voice"](x)) < 0.1
