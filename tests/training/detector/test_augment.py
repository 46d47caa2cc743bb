"""Channel effects for both classes keep the clip's length and level range."""

import shutil

import numpy as np
import pytest

pytest.importorskip("torch")

from voxguard.training.detector import augment
from voxguard.training.detector.augment import (
    AUGMENTATIONS,
    EFFECTS,
    TEST_CHANNELS,
    TEST_PHONE_LINES,
    TEST_VOIP_CODECS,
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


needs_ffmpeg = pytest.mark.skipif(
    shutil.which("ffmpeg") is None, reason="Speex and GSM need the ffmpeg command"
)


@needs_ffmpeg
def test_the_voip_effects_keep_length_and_reach_both_speex_modes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    x = (0.3 * np.random.default_rng(5).standard_normal(16000)).astype(np.float32)
    for effect in AUGMENTATIONS["voip"]:
        assert effect(x, np.random.default_rng(1)).shape == x.shape, effect.__name__
    calls: list[tuple[str, int]] = []
    real = augment.cli_encode_decode

    def spy(samples: np.ndarray, rate: int, encoder: str, bit_rate: int | None = None):  # type: ignore[no-untyped-def]
        calls.append((encoder, rate))
        return real(samples, rate, encoder, bit_rate)

    monkeypatch.setattr(augment, "cli_encode_decode", spy)
    for seed in range(30):
        augment.voip_codec_round_trip(x, np.random.default_rng(seed))
    assert set(calls) == {("libspeex", 8000), ("libspeex", 16000)}


@needs_ffmpeg
def test_the_voip_test_channels_code_speech_bands_as_their_codecs_do() -> None:
    x = (0.1 * np.random.default_rng(6).standard_normal(32000)).astype(np.float32)
    freqs = np.fft.rfftfreq(x.size, 1 / 16000)

    def above_4k5_relative_to_1_3k(y: np.ndarray) -> float:
        spectrum = np.abs(np.fft.rfft(y)) ** 2
        return float(
            spectrum[freqs > 4500].mean() / spectrum[(freqs > 1000) & (freqs < 3000)].mean()
        )

    for name, channel in TEST_VOIP_CODECS.items():
        y = channel(x)
        assert y.shape == x.shape and float(np.abs(y).max()) > 0.01, name
    # Narrowband Speex (8 kHz) leaves the band above 4 kHz empty; wideband Speex keeps some.
    assert above_4k5_relative_to_1_3k(TEST_VOIP_CODECS["speex-nb-8k"](x)) < 1e-3
    assert above_4k5_relative_to_1_3k(TEST_VOIP_CODECS["speex-wb-16.8k"](x)) > 1e-3


def test_the_standard_augmentation_is_the_bundled_five_effects_and_gsm_stays_unseen() -> None:
    assert AUGMENTATIONS["standard"] == EFFECTS
    voip = AUGMENTATIONS["voip"]
    assert len(voip) == len(EFFECTS) and voip[-1] is augment.phone_line
    assert "gsm" not in " ".join(codec for codec, _ in augment.PHONE_CODECS)
