from __future__ import annotations

import numpy as np
import pytest

from voxguard.training.augment import (
    CODECS,
    AugmentParams,
    augment,
    available_codecs,
    codec_round_trip,
    synthetic_rir,
)

RATE = 16000


def _speechlike(seed: int, seconds: float = 1.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 3 * t)
    tone = np.sin(2 * np.pi * rng.uniform(100, 250) * t) + 0.3 * rng.standard_normal(t.size)
    return (0.1 * envelope * tone).astype(np.float32)


def test_chain_depends_on_the_seed_not_on_the_audio() -> None:
    # The augmentation never sees a label: a "genuine" and a "synthetic" clip given the same
    # seed get the same chain, so both classes share one distribution of channel effects.
    genuine, synthetic = _speechlike(1), _speechlike(2) * 3
    for seed in range(40):
        _, chain_a = augment(genuine, np.random.default_rng(seed), [genuine])
        _, chain_b = augment(synthetic, np.random.default_rng(seed), [genuine])
        assert chain_a == chain_b


def test_same_seed_same_output() -> None:
    x = _speechlike(3)
    a, chain_a = augment(x, np.random.default_rng(7), [x])
    b, chain_b = augment(x, np.random.default_rng(7), [x])
    assert chain_a == chain_b
    np.testing.assert_array_equal(a, b)


def test_effect_rates_follow_the_probabilities() -> None:
    x = _speechlike(4, seconds=0.3)
    params = AugmentParams()
    chains = [augment(x, np.random.default_rng(s), [x], params)[1] for s in range(300)]
    codec_rate = np.mean(["codec=" in c for c in chains])
    noise_rate = np.mean(["noise=" in c for c in chains])
    assert abs(codec_rate - params.p_codec) < 0.1
    assert abs(noise_rate - params.p_noise) < 0.1


def test_output_keeps_length_and_range() -> None:
    x = _speechlike(5)
    for seed in range(20):
        y, _ = augment(x, np.random.default_rng(seed), [x])
        assert y.shape == x.shape
        assert y.dtype == np.float32
        assert float(np.max(np.abs(y))) <= 1.0


@pytest.mark.parametrize("name", sorted(CODECS))
def test_codec_round_trip(name: str) -> None:
    if name not in available_codecs():
        pytest.skip(f"this FFmpeg build has no {CODECS[name].encoder} encoder")
    x = _speechlike(6)
    spec = CODECS[name]
    y = codec_round_trip(x, spec, spec.bitrates[0])
    assert y.shape == x.shape
    # Lossy but not destroyed: the level survives within a few dB.
    ratio = float(np.std(y[2000:]) / np.std(x[2000:]))
    assert 0.4 < ratio < 2.0


def test_rir_starts_with_the_direct_path_and_decays() -> None:
    rir = synthetic_rir(0.5, np.random.default_rng(0))
    assert rir[0] == 1.0
    early = np.abs(rir[200:1600]).mean()
    late = np.abs(rir[-1600:]).mean()
    assert late < early / 10
