"""Decoder limits found with the hostile corpus (tests/hostile): many channels, codecs FFmpeg
cannot decode, and streams that decode to far more than they declare."""

from __future__ import annotations

import numpy as np
import pytest

from tests.hostile import formats
from voxguard.audio import load_audio
from voxguard.config import Settings
from voxguard.errors import AudioTooLong, UnsupportedAudioFormat


def _channels_of_a_tone(channels: int, rate: int, seconds: float = 0.5) -> np.ndarray:
    """Channel k carries the tone scaled by (k + 1) / channels: their mean is known."""
    t = np.arange(int(seconds * rate)) / rate
    tone = 0.4 * np.sin(2 * np.pi * 440 * t)
    gains = (np.arange(channels) + 1) / channels
    return (tone[:, None] * gains[None, :]).astype(np.float32)


@pytest.mark.parametrize("channels", [8, 12, 64])
@pytest.mark.parametrize("rate", [16000, 44100])
def test_eight_channels_and_more_decode_and_average(channels: int, rate: int) -> None:
    # PyAV walked past the end of FFmpeg's plane pointers for planar frames of 8 channels
    # and up, and the process died (SIGSEGV) on such an upload.
    frames = _channels_of_a_tone(channels, rate)
    clip = load_audio(formats.wav(frames, rate, channels=channels, dtype="<f4"))
    assert clip.metadata.channels == channels
    expected = load_audio(formats.wav(frames.mean(axis=1), rate, dtype="<f4")).samples
    assert clip.samples.shape == expected.shape
    np.testing.assert_allclose(clip.samples, expected, atol=1e-5)


def test_eight_channel_flac_decodes() -> None:
    clip = load_audio(formats.flac_silence(192000, 8, 2.0, declare=True, block=4096))
    assert clip.metadata.channels == 8 and clip.metadata.original_sample_rate == 192000
    assert 1.9 < clip.duration_s < 2.1 and not clip.samples.any()


@pytest.mark.parametrize(("tag", "bits"), [(0x1234, 16), (formats.PCM, 0)])
def test_audio_in_an_encoding_without_a_decoder_is_unsupported(tag: int, bits: int) -> None:
    pcm = np.zeros(16000, dtype="<i2").tobytes()
    data = formats.riff(
        formats.fmt_chunk(tag, 1, 16000, bits, align=2), formats.chunk(b"data", pcm)
    )
    with pytest.raises(UnsupportedAudioFormat) as info:
        load_audio(data)
    assert "cannot decode" in info.value.message and "Accepted formats" in info.value.message
    assert info.value.http_status == 415


def test_decoding_work_is_bounded_not_only_the_decoded_length() -> None:
    # 60 s of 8 channels at 192 kHz, its length undeclared: within 10 s once resampled to
    # mono 16 kHz only after decoding 46 million samples; refused long before.
    settings = Settings(max_duration_s=10.0)
    bomb = formats.flac_silence(192000, 8, 60.0, declare=False)
    with pytest.raises(AudioTooLong) as info:
        load_audio(bomb, settings)
    assert info.value.detail == {"max_duration_s": 10.0, "channels": 8, "sample_rate": 192000}
    assert "8 channels at 48000 Hz" in info.value.message
    # As many samples as 10 s of 8 channels at 48 kHz, and less, is decoded.
    within = formats.flac_silence(48000, 8, 9.0, declare=False, block=4096)
    assert 8.5 < load_audio(within, settings).duration_s <= 9.0


def test_a_stream_that_declares_no_length_stops_at_the_duration_limit() -> None:
    settings = Settings(max_duration_s=5.0)
    bomb = formats.ogg_opus_silence(60.0, honest_granules=False)
    with pytest.raises(AudioTooLong) as info:
        load_audio(bomb, settings)
    assert "longer than the 5 s limit" in info.value.message
