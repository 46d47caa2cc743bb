"""Choosing a live call's decoder from what the client declared."""

from __future__ import annotations

import re

import numpy as np
import pytest

from voxguard.audio.live import OPUS, PCM, PcmDecoder, live_decoder
from voxguard.audio.opus import OpusDecoder
from voxguard.errors import InvalidInput, UnsupportedAudioFormat


def test_pcm_is_the_default_and_opus_is_asked_for() -> None:
    for encoding in (None, "", "pcm", "PCM_S16LE"):
        decoder = live_decoder(encoding)
        assert isinstance(decoder, PcmDecoder) and decoder.name == PCM
    assert live_decoder(PCM, "16000").sample_rate == 16000
    opus = live_decoder("opus")
    assert isinstance(opus, OpusDecoder) and (opus.name, opus.sample_rate) == (OPUS, 48000)
    assert live_decoder("opus", 16000).sample_rate == 16000


def test_pcm_messages_hold_whole_samples() -> None:
    samples = PcmDecoder().decode(np.array([0, 16384, -32768], "<i2").tobytes())
    assert samples.tolist() == [0.0, 0.5, -1.0]
    with pytest.raises(InvalidInput, match="16-bit"):
        PcmDecoder().decode(b"\x01\x02\x03")


@pytest.mark.parametrize(
    ("encoding", "rate", "named"),
    [
        ("mp3", None, "accepted are pcm_s16le"),
        ("ogg", None, "opus (one raw Opus packet per message)"),
        ("pcm", "8000", "accepted are 16000 Hz"),
        ("opus", "44100", "8000, 12000, 16000, 24000, 48000 Hz"),
        ("opus", "fast", "'fast'"),
    ],
)
def test_what_cannot_be_decoded_is_refused_naming_what_can(
    encoding: str, rate: str | None, named: str
) -> None:
    with pytest.raises(UnsupportedAudioFormat, match=re.escape(named)):
        live_decoder(encoding, rate)
