"""Raw Opus packets, one at a time, as WebRTC and SIP gateways send them (no Ogg container).

``OpusDecoder`` turns each packet into 16 kHz mono float32 for a live call; ``OpusEncoder``
makes such packets (libopus, 20 ms frames) from a recording, so a call can be tried end to
end. Both are FFmpeg's codecs through PyAV.
"""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np

from voxguard.audio.decode import TARGET_SAMPLE_RATE
from voxguard.audio.types import FloatArray
from voxguard.errors import AudioDecodeError, AudioTooLarge, UnsupportedAudioFormat

OPUS_RATE = 48_000
# The rates an Opus decoder can be opened at (RFC 7587 always signals 48000 in SDP).
OPUS_RATES = (8_000, 12_000, 16_000, 24_000, 48_000)
# RFC 6716 caps a frame at 1275 bytes and a packet at 120 ms: six 20 ms frames and a few bytes
# of header fit in this. A larger message is not one packet (a file, a PCM chunk).
MAX_PACKET_BYTES = 8_000
# A packet the decoder refuses is replaced by silence as long as its predecessor, and the call
# goes on: a lost or damaged packet is routine on a real line. This many in a row (a second
# of 20 ms packets) means the client is not sending Opus packets at all: the call is refused.
MAX_BAD_IN_A_ROW = 50
_FIRST_PACKET_S = 0.02  # the silence for a bad packet before any decoded one


class OpusDecoder:
    """One call's Opus packets to 16 kHz mono float32; the decoder's state spans packets."""

    name = "opus"

    def __init__(self, sample_rate: int = OPUS_RATE) -> None:
        self.sample_rate = sample_rate
        self._codec = av.CodecContext.create("opus", "r")
        self._codec.sample_rate = sample_rate
        self._codec.layout = "mono"  # a stereo packet is downmixed by the decoder
        self._resampler = av.AudioResampler(format="flt", layout="mono", rate=TARGET_SAMPLE_RATE)
        self.packets = 0
        self.bad_packets = 0
        self._bad_in_a_row = 0
        self._last_samples = int(_FIRST_PACKET_S * TARGET_SAMPLE_RATE)

    def decode(self, packet: bytes) -> FloatArray:
        """The packet's audio; silence in its place if it cannot be decoded (see above)."""
        if not packet:  # FFmpeg reads an empty packet as end of stream: carries no audio
            return np.zeros(0, np.float32)
        self._check(packet)
        self.packets += 1
        try:
            frames = self._codec.decode(av.Packet(packet))
        except av.FFmpegError as exc:
            return self._lost(exc)
        self._bad_in_a_row = 0
        pieces = [out.to_ndarray()[0] for f in frames for out in self._resampler.resample(f)]
        if not pieces:
            return np.zeros(0, np.float32)
        samples: FloatArray = np.concatenate(pieces).astype(np.float32, copy=False)
        self._last_samples = samples.size
        return samples

    def _check(self, packet: bytes) -> None:
        if packet[:4] == b"OggS":  # never a valid Opus packet (frame count 39 at 40 ms)
            raise UnsupportedAudioFormat(
                "This message is an Ogg page, not an Opus packet: send each raw Opus packet "
                "(2.5-60 ms, as RTP carries them) as its own binary message.",
                encoding=self.name,
            )
        if len(packet) > MAX_PACKET_BYTES:
            raise AudioTooLarge(
                f"A binary message of {len(packet)} bytes is not one Opus packet (at most "
                f"{MAX_PACKET_BYTES} bytes): send each packet as its own message.",
                size_bytes=len(packet),
                max_packet_bytes=MAX_PACKET_BYTES,
            )

    def _lost(self, exc: av.FFmpegError) -> FloatArray:
        self.bad_packets += 1
        self._bad_in_a_row += 1
        if self._bad_in_a_row >= MAX_BAD_IN_A_ROW:
            raise AudioDecodeError(
                f"{self._bad_in_a_row} Opus packets in a row could not be decoded "
                f"({self.bad_packets} of {self.packets} in the call; the last: {exc.strerror}). "
                "Send one raw Opus packet per binary message, not Ogg, WebM or PCM.",
                bad_packets=self.bad_packets,
                packets=self.packets,
                max_bad_in_a_row=MAX_BAD_IN_A_ROW,
            )
        return np.zeros(self._last_samples, np.float32)


class OpusEncoder:
    """16 kHz mono float32 in, raw Opus packets out: libopus at 48 kHz, 20 ms a packet, as a
    WebRTC client sends a voice. Chunks of any size; ``flush`` at the end."""

    def __init__(self, bit_rate: int = 32_000, rate: int = TARGET_SAMPLE_RATE) -> None:
        self.rate = rate
        self._codec = av.CodecContext.create("libopus", "w")
        self._codec.sample_rate = OPUS_RATE
        self._codec.layout = "mono"
        self._codec.format = "s16"
        self._codec.bit_rate = bit_rate
        self._codec.time_base = Fraction(1, OPUS_RATE)
        self._codec.options = {"frame_duration": "20"}
        self._codec.open()
        self._fed = 0

    def encode(self, samples: FloatArray) -> list[bytes]:
        """The packets completed by ``samples`` (PyAV cuts the input into 20 ms frames)."""
        if not samples.size:
            return []
        pcm = np.clip(samples * 32767, -32768, 32767).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(pcm[None, :], format="s16", layout="mono")
        frame.sample_rate = self.rate
        frame.time_base = Fraction(1, self.rate)
        frame.pts = self._fed
        self._fed += pcm.size
        return [bytes(p) for p in self._codec.encode(frame)]

    def flush(self) -> list[bytes]:
        """The last packets (the final frame zero-padded to 20 ms)."""
        return [bytes(p) for p in self._codec.encode(None)]
