from __future__ import annotations

import shutil

import av
import numpy as np
import pytest

from tests.conftest import tone
from voxguard.audio.codec import cli_encode_decode, encode_decode, fit_length


def _snr_db(reference: np.ndarray, test: np.ndarray) -> float:
    error = float(np.mean((reference - test) ** 2)) + 1e-20
    return 10 * np.log10(float(np.mean(reference**2)) / error)


def test_g711_round_trip_is_near_transparent_and_keeps_the_timeline() -> None:
    x = tone(1.0, 8000, freq=440.0)
    y = encode_decode(x, 8000, "pcm_mulaw", "wav")
    # mu-law has no delay or padding: the same samples within its ~38 dB quantisation SNR.
    assert y.dtype == np.float32 and y.size == x.size
    assert _snr_db(x, y) > 30


@pytest.mark.parametrize("codec_frames", [True, False])
def test_lossy_codecs_keep_the_level_and_fit_length_restores_the_input_length(
    codec_frames: bool,
) -> None:
    x = tone(1.0, 16000, freq=300.0)
    y = encode_decode(x, 16000, "libmp3lame", "mp3", 32_000, codec_frames=codec_frames)
    assert y.size >= x.size  # the encoder's priming delay and padding are still there
    fitted = fit_length(y, x.size)
    assert fitted.size == x.size
    level = 20 * np.log10(np.std(fitted) / np.std(x))
    assert abs(level) < 1.0


@pytest.mark.parametrize("codec_frames", [True, False])
def test_a_float_only_encoder_gets_the_same_16_bit_samples(codec_frames: bool) -> None:
    # FFmpeg's AAC encoder takes planar float only; before, handing it s16 frames failed.
    x = tone(1.0, 16000, freq=300.0)
    y = encode_decode(x, 16000, "aac", "adts", 64_000, codec_frames=codec_frames)
    assert y.size >= x.size
    delay = int(np.argmax(np.abs(np.correlate(y[:4000], x[:2000], mode="valid"))))
    aligned = fit_length(y[delay:], x.size)
    assert _snr_db(x[1000:15000], aligned[1000:15000]) > 20


def test_amr_nb_round_trip_keeps_a_tone_at_its_level() -> None:
    x = tone(0.5, 8000, freq=500.0)
    y = fit_length(encode_decode(x, 8000, "libopencore_amrnb", "amr", 12_200), x.size)
    assert y.size == x.size
    assert abs(20 * np.log10(np.std(y[800:]) / np.std(x[800:]))) < 2.0


def test_fit_length_cuts_and_zero_fills() -> None:
    x = np.arange(1, 6, dtype=np.float32)
    assert fit_length(x, 3).tolist() == [1, 2, 3]
    assert fit_length(x, 7).tolist() == [1, 2, 3, 4, 5, 0, 0]


def test_an_encoder_ffmpeg_lacks_raises() -> None:
    with pytest.raises((av.error.FFmpegError, ValueError)):
        encode_decode(np.zeros(800, np.float32), 8000, "no_such_encoder", "wav")


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs the ffmpeg command")
def test_speex_through_the_ffmpeg_command_keeps_a_tone() -> None:
    x = (0.3 * np.sin(2 * np.pi * 440 * np.arange(8000) / 8000)).astype(np.float32)
    back = fit_length(cli_encode_decode(x, 8000, "libspeex", 15_000), x.size)
    assert 0.5 < float(np.std(back[2000:])) / float(np.std(x[2000:])) < 1.5


def test_an_unknown_command_line_encoder_is_refused_with_the_known_ones() -> None:
    with pytest.raises(ValueError, match="libspeex"):
        cli_encode_decode(np.zeros(800, np.float32), 8000, "libfoo")
