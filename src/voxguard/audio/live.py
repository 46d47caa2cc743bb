"""A live call's binary messages to 16 kHz mono float32: 16-bit PCM chunks (the default) or
raw Opus packets. The client names the encoding when it opens the stream; the analysis after
the decoder never knows which one came in."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from voxguard.audio.decode import TARGET_SAMPLE_RATE
from voxguard.audio.opus import OPUS_RATE, OPUS_RATES, OpusDecoder
from voxguard.audio.types import FloatArray
from voxguard.errors import InvalidInput, UnsupportedAudioFormat

PCM = "pcm_s16le"
OPUS = "opus"
ENCODINGS = (PCM, OPUS)
_NAMES = {"pcm": PCM, PCM: PCM, OPUS: OPUS}


class LiveDecoder(Protocol):
    """Turns each binary message of a call into samples, keeping its state between them."""

    @property
    def name(self) -> str: ...
    @property
    def sample_rate(self) -> int: ...
    @property
    def bad_packets(self) -> int: ...
    def decode(self, data: bytes) -> FloatArray: ...


class PcmDecoder:
    """16 kHz mono 16-bit little-endian PCM, any whole number of samples a message."""

    name = PCM
    sample_rate = TARGET_SAMPLE_RATE
    bad_packets = 0

    def decode(self, data: bytes) -> FloatArray:
        if len(data) % 2:
            raise InvalidInput(
                "Audio messages must hold whole 16-bit samples (16 kHz mono PCM, "
                f"little-endian); this one has {len(data)} bytes."
            )
        samples: FloatArray = np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0
        return samples


def live_decoder(encoding: str | None = None, sample_rate: str | int | None = None) -> LiveDecoder:
    """The decoder for a stream opened with ``encoding`` (default PCM) and ``sample_rate``
    (PCM: 16000 only; Opus: a rate Opus decodes at, 48000 by default)."""
    name = _NAMES.get((encoding or PCM).strip().lower())
    if name is None:
        raise UnsupportedAudioFormat(
            f"Unsupported stream encoding {encoding!r}: accepted are {PCM} (16 kHz mono "
            f"16-bit PCM, the default) and {OPUS} (one raw Opus packet per message).",
            encoding=encoding,
            accepted=list(ENCODINGS),
        )
    rates = (TARGET_SAMPLE_RATE,) if name == PCM else OPUS_RATES
    rate = _rate(sample_rate, name, rates)
    return PcmDecoder() if name == PCM else OpusDecoder(rate or OPUS_RATE)


def _rate(value: str | int | None, encoding: str, accepted: tuple[int, ...]) -> int | None:
    if value is None or value == "":
        return None
    try:
        rate = int(value)
    except ValueError:
        rate = 0
    if rate not in accepted:
        raise UnsupportedAudioFormat(
            f"Unsupported sample rate {value!r} for {encoding}: accepted are "
            f"{', '.join(str(r) for r in accepted)} Hz.",
            encoding=encoding,
            sample_rate=value,
            accepted_sample_rates=list(accepted),
        )
    return rate
