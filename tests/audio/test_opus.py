"""Raw Opus packets: the live call's decoder and the encoder that makes packets to try it."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import shared_data
from voxguard.audio import load_audio
from voxguard.audio.opus import MAX_BAD_IN_A_ROW, MAX_PACKET_BYTES, OpusDecoder, OpusEncoder
from voxguard.errors import AudioDecodeError, AudioTooLarge, UnsupportedAudioFormat

PRE_SKIP = 104  # libopus's 312 priming samples at 48 kHz, at 16 kHz: the decoder keeps them
BAD = b"\x03\x00"  # a code-3 packet of zero frames: invalid for every decoder


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    flac = sorted(shared_data("librispeech").glob("*.flac"))[0]
    samples: np.ndarray = load_audio(flac).samples[: 5 * 16000]
    return samples


@pytest.fixture(scope="module")
def packets(speech: np.ndarray) -> list[bytes]:
    encoder = OpusEncoder()
    out = [
        p for start in range(0, speech.size, 1600) for p in encoder.encode(speech[start:][:1600])
    ]
    return out + encoder.flush()


def test_packets_are_20_ms_and_decode_back_to_the_speech(
    speech: np.ndarray, packets: list[bytes]
) -> None:
    assert len(packets) == speech.size // 320 + 1  # the priming spills into one more
    assert max(len(p) for p in packets) < 200  # ~32 kb/s: 80 bytes a packet on average
    decoder = OpusDecoder()
    decoded = np.concatenate([decoder.decode(p) for p in packets])
    assert decoded.dtype == np.float32 and abs(decoded.size - speech.size) <= 320 + PRE_SKIP
    aligned = decoded[PRE_SKIP : PRE_SKIP + speech.size]
    assert np.corrcoef(speech[: aligned.size], aligned)[0, 1] > 0.9
    assert decoder.packets == len(packets) and decoder.bad_packets == 0


def test_a_bad_packet_becomes_silence_and_the_call_goes_on(packets: list[bytes]) -> None:
    decoder = OpusDecoder()
    before = [decoder.decode(p) for p in packets[:10]]
    lost = decoder.decode(BAD)
    assert lost.size == before[-1].size == 320 and not lost.any()
    after = decoder.decode(packets[10])
    assert after.size == 320 and after.any()
    assert (decoder.packets, decoder.bad_packets) == (12, 1)


def test_only_a_run_of_bad_packets_ends_the_call(packets: list[bytes]) -> None:
    decoder = OpusDecoder()
    for packet in packets[:20]:  # a bad packet every other one is a poor line, not garbage
        decoder.decode(packet)
        decoder.decode(BAD)
    for _ in range(MAX_BAD_IN_A_ROW - 2):
        decoder.decode(BAD)
    with pytest.raises(AudioDecodeError, match=f"{MAX_BAD_IN_A_ROW} Opus packets in a row"):
        decoder.decode(BAD)
    assert decoder.bad_packets == 20 + MAX_BAD_IN_A_ROW - 1


def test_what_is_not_one_packet_is_refused_and_an_empty_message_ignored() -> None:
    decoder = OpusDecoder()
    with pytest.raises(AudioTooLarge, match=f"at most {MAX_PACKET_BYTES} bytes"):
        decoder.decode(b"\x78" * (MAX_PACKET_BYTES + 1))
    with pytest.raises(UnsupportedAudioFormat, match="Ogg page"):
        decoder.decode(b"OggS\x00\x02" + bytes(40))
    assert decoder.decode(b"").size == 0 and decoder.packets == 0
