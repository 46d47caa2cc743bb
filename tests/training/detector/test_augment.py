"""Channel effects for both classes keep the clip's length and level range."""

import numpy as np
import pytest

pytest.importorskip("torch")

from voxguard.training.detector.augment import EFFECTS, phone_line, random_channel


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
