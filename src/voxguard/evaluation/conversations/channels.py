"""The conditions a conversation is heard in: as mixed, over a phone line, in babble."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal

from voxguard.audio import TARGET_SAMPLE_RATE
from voxguard.audio.types import FloatArray
from voxguard.evaluation.conversations.voices import Voice
from voxguard.speaker.augment import add_noise, phone_channel

PHONE_SAMPLE_RATE = 8000
BABBLE_SNR_DB = 10.0
BABBLE_TALKERS = 3


@dataclass(frozen=True)
class PhoneCodec:
    name: str
    encoder: str
    bit_rate: int | None = None


# Narrowband call codecs in PyAV's FFmpeg: GSM's AMR-NB at a good and two poorer modes, and
# G.711 (mu-law, A-law) of fixed lines.
PHONE_CODECS = (
    PhoneCodec("amr-nb 12.2k", "libopencore_amrnb", 12_200),
    PhoneCodec("amr-nb 7.4k", "libopencore_amrnb", 7_400),
    PhoneCodec("amr-nb 5.9k", "libopencore_amrnb", 5_900),
    PhoneCodec("g711 mu-law", "pcm_mulaw"),
    PhoneCodec("g711 a-law", "pcm_alaw"),
)


def phone_call(mix: FloatArray, rng: np.random.Generator) -> tuple[FloatArray, str]:
    """``mix`` through a simulated call (band-pass, 8 kHz, a drawn codec), returned at
    8 kHz as a call recording would be; the timeline is kept sample for sample."""
    codec = PHONE_CODECS[int(rng.integers(len(PHONE_CODECS)))]
    wide = phone_channel(mix, codec.encoder, codec.bit_rate)
    narrow = signal.resample_poly(wide, PHONE_SAMPLE_RATE, TARGET_SAMPLE_RATE)
    return narrow.astype(np.float32), codec.name


def babble(
    mix: FloatArray, talkers: list[Voice], rng: np.random.Generator, snr_db: float = BABBLE_SNR_DB
) -> FloatArray:
    """``mix`` plus the speech of ``talkers`` (people not in the conversation), each looped
    from a random point, together at ``snr_db`` below the conversation's level."""
    crowd = np.zeros(mix.size, dtype=np.float32)
    for talker in talkers:
        speech = talker.speech()
        looped = np.tile(speech, mix.size // speech.size + 2)
        offset = int(rng.integers(speech.size))
        crowd += looped[offset : offset + mix.size]
    return add_noise(mix, crowd, snr_db)
