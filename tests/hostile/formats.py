"""Byte-level writers for the hostile corpus: headers that lie, streams no encoder would make.

Everything here is written by hand from the format specifications (RIFF/WAVE, FLAC, Ogg,
Opus, PNG, ZIP), so each field can be set to a value a well-behaved encoder would refuse to
write: a data chunk claiming gigabytes, a FLAC stream of hours in kilobytes, a ZIP member
whose declared size is not what it inflates to.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

import numpy as np

# --- RIFF / WAVE ----------------------------------------------------------------------------

PCM, FLOAT, EXTENSIBLE = 1, 3, 0xFFFE


def fmt_chunk(tag: int, channels: int, rate: int, bits: int, *, align: int | None = None) -> bytes:
    align = channels * bits // 8 if align is None else align
    body = struct.pack("<HHIIHH", tag, channels, rate, rate * align & 0xFFFFFFFF, align, bits)
    return chunk(b"fmt ", body)


def chunk(kind: bytes, body: bytes, size: int | None = None) -> bytes:
    """A RIFF chunk; ``size`` overrides the length written in its header (a lie)."""
    pad = b"\0" if len(body) % 2 else b""
    return kind + struct.pack("<I", len(body) if size is None else size) + body + pad


def riff(*chunks: bytes, size: int | None = None, magic: bytes = b"RIFF") -> bytes:
    body = b"WAVE" + b"".join(chunks)
    return magic + struct.pack("<I", len(body) if size is None else size) + body


def wav(
    samples: np.ndarray,
    rate: int,
    *,
    channels: int = 1,
    dtype: str | None = None,
    data_size: int | None = None,
    riff_size: int | None = None,
) -> bytes:
    """A WAV of ``samples`` (frames x channels, or mono), stored as their own dtype (PCM for
    integers, IEEE float for floats) or as ``dtype``, little-endian."""
    stored = np.asarray(samples)
    stored = stored.astype((dtype and np.dtype(dtype)) or stored.dtype.newbyteorder("<"))
    tag = FLOAT if stored.dtype.kind == "f" else PCM
    bits = stored.dtype.itemsize * 8
    return riff(
        fmt_chunk(tag, channels, rate, bits),
        chunk(b"data", stored.tobytes(), data_size),
        size=riff_size,
    )


# --- FLAC -----------------------------------------------------------------------------------


def _crc8(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


_CRC16 = []
for _i in range(256):
    _c = _i << 8
    for _ in range(8):
        _c = ((_c << 1) ^ 0x8005) & 0xFFFF if _c & 0x8000 else (_c << 1) & 0xFFFF
    _CRC16.append(_c)


def _crc16(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ _CRC16[(crc >> 8) ^ byte]
    return crc


def _utf8_number(n: int) -> bytes:
    """FLAC's frame number coding: UTF-8's scheme extended to 36 bits (no surrogate rule)."""
    if n < 0x80:
        return bytes([n])
    length = next(k for k in range(2, 8) if n < 1 << (5 * k + 1))
    tail = [0x80 | (n >> (6 * i)) & 0x3F for i in range(length - 2, -1, -1)]
    head = (0xFF << (8 - length)) & 0xFF | (n >> (6 * (length - 1)))
    return bytes([head, *tail])


def flac_streaminfo(rate: int, channels: int, block: int, total_samples: int) -> bytes:
    """``fLaC`` and a last-block STREAMINFO (16-bit); ``total_samples`` 0 means unknown."""
    packed = (rate << 44) | ((channels - 1) << 41) | (15 << 36) | total_samples
    info = struct.pack(">HH", block, block) + b"\0" * 6 + packed.to_bytes(8, "big") + b"\0" * 16
    return b"fLaC" + bytes([0x80]) + len(info).to_bytes(3, "big") + info


def flac_silent_frame(number: int, channels: int, block: int) -> bytes:
    """One fixed-blocksize frame of ``block`` samples of digital silence per channel: a
    CONSTANT subframe (a zero 16-bit value) each, a dozen bytes for up to 65535 samples."""
    header = bytes([0xFF, 0xF8, 0x70, (channels - 1) << 4 | 0x08]) + _utf8_number(number)
    header += struct.pack(">H", block - 1)
    header += bytes([_crc8(header)])
    frame = header + b"\0\0\0" * channels
    return frame + struct.pack(">H", _crc16(frame))


def flac_silence(
    rate: int, channels: int, seconds: float, *, declare: bool, block: int = 65535
) -> bytes:
    """Hours of silence in kilobytes; ``declare`` writes the true length in STREAMINFO, else
    it says "unknown" and only decoding finds out."""
    frames = int(seconds * rate) // block
    total = frames * block if declare else 0
    frame_bytes = [flac_silent_frame(n, channels, block) for n in range(frames)]
    return flac_streaminfo(rate, channels, block, total) + b"".join(frame_bytes)


# --- Ogg / Opus -----------------------------------------------------------------------------

_CRC32_OGG = []
for _i in range(256):
    _c = _i << 24
    for _ in range(8):
        _c = ((_c << 1) ^ 0x04C11DB7) & 0xFFFFFFFF if _c & 0x80000000 else (_c << 1) & 0xFFFFFFFF
    _CRC32_OGG.append(_c)


def _ogg_crc(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ _CRC32_OGG[(crc >> 24) ^ byte]
    return crc


def ogg_page(
    packets: list[bytes], granule: int, sequence: int, flags: int = 0, serial: int = 1
) -> bytes:
    """One Ogg page holding whole ``packets`` (each under 255 bytes)."""
    lacing = bytes(len(p) for p in packets)
    fields = (0, flags, granule, serial, sequence, 0, len(packets))
    head = b"OggS" + struct.pack("<BBqIIIB", *fields)
    page = head + lacing + b"".join(packets)
    crc = _ogg_crc(page)
    return page[:22] + struct.pack("<I", crc) + page[26:]


def opus_headers(channels: int = 1, serial: int = 1) -> list[bytes]:
    """The OpusHead and OpusTags pages (RFC 7845), mono or stereo, no mapping table."""
    head = b"OpusHead" + struct.pack("<BBHIhB", 1, channels, 312, 48000, 0, 0)
    tags = b"OpusTags" + struct.pack("<I", 6) + b"vgtest" + struct.pack("<I", 0)
    return [ogg_page([head], 0, 0, 2, serial), ogg_page([tags], 0, 1, 0, serial)]


# A code-3 Opus packet (RFC 6716 3.2.5): TOC of CELT fullband 20 ms, then 6 frames of zero
# bytes each, which a decoder fills in as silence: 120 ms of audio in 2 bytes.
OPUS_SILENT_120MS = bytes([31 << 3 | 3, 6])


def ogg_opus_silence(
    seconds: float, *, honest_granules: bool, channels: int = 1, serial: int = 1
) -> bytes:
    """Hours of Opus in Ogg at about 0.8 kB per 30 s; granules honest (the length is
    declared) or all zero (only decoding finds out). Streams of different ``serial``
    numbers one after the other make a chained Ogg file."""
    per_page = 255
    pages = opus_headers(channels, serial)
    packets = int(seconds / 0.12)
    granule = 312
    for sequence, start in enumerate(range(0, packets, per_page), start=2):
        count = min(per_page, packets - start)
        granule += count * 5760
        last = start + count >= packets
        pages.append(
            ogg_page(
                [OPUS_SILENT_120MS] * count,
                granule if honest_granules else 0,
                sequence,
                flags=4 if last else 0,
                serial=serial,
            )
        )
    return b"".join(pages)


# --- PNG ------------------------------------------------------------------------------------


def png_1x1() -> bytes:
    def part(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\0\xff\0\0")
    return b"\x89PNG\r\n\x1a\n" + part(b"IHDR", ihdr) + part(b"IDAT", pixels) + part(b"IEND", b"")


# --- ZIP ------------------------------------------------------------------------------------

STORED, DEFLATED = 0, 8
_DOS_TIME = (0, 0x5A21)  # 2025-01-01 00:00, so the bytes never depend on the clock


@dataclass(frozen=True)
class ZipMember:
    """A member as written: its compressed bytes and what the headers claim about it."""

    name: str
    payload: bytes  # as stored (compressed for DEFLATED)
    size: int  # declared uncompressed size
    crc: int
    method: int = DEFLATED
    flags: int = 0x800  # names are UTF-8
    external_attr: int = 0


def deflated(data: bytes, name: str, **claims: int) -> ZipMember:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    payload = compressor.compress(data) + compressor.flush()
    size = claims.pop("size", len(data))
    return ZipMember(name, payload, size, zlib.crc32(data), **claims)


def stored(data: bytes, name: str, **claims: int) -> ZipMember:
    return ZipMember(name, data, len(data), zlib.crc32(data), method=STORED, **claims)


def zeros_bomb(name: str, megabytes: int) -> ZipMember:
    """``megabytes`` MB of zeros as one deflate stream of about 1 kB per MB: each MB is
    compressed after a full flush, so every MB's bytes are the same and written once."""
    mb = b"\0" * (1 << 20)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    piece = compressor.compress(mb) + compressor.flush(zlib.Z_FULL_FLUSH)
    payload = piece * megabytes + compressor.flush()
    crc = 0
    for _ in range(megabytes):
        crc = zlib.crc32(mb, crc)
    return ZipMember(name, payload, megabytes << 20, crc)


def zip_archive(members: list[ZipMember], *, aliases: int = 0, prefix: bytes = b"") -> bytes:
    """A ZIP of ``members`` after ``prefix`` (which readers skip: a polyglot's other half).
    ``aliases``: that many extra central-directory entries all pointing at the first
    member's data (an overlapping-entries bomb: one stream, many files)."""
    out = bytearray(prefix)
    central = bytearray()
    offsets = []
    for m in members:
        offsets.append(len(out))
        out += _local_header(m) + m.payload
    entries = [(m, off) for m, off in zip(members, offsets, strict=True)]
    entries += [(_renamed(members[0], f"copy{i:05d}.wav"), offsets[0]) for i in range(aliases)]
    for m, offset in entries:
        central += _central_header(m, offset)
    end = struct.pack(
        "<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(central), len(out), 0
    )
    return bytes(out + central + end)


def _renamed(member: ZipMember, name: str) -> ZipMember:
    return ZipMember(name, member.payload, member.size, member.crc, member.method, member.flags)


def _sizes(m: ZipMember) -> tuple[int, int, bytes]:
    """The 32-bit size fields, and a ZIP64 extra field when a size does not fit them."""
    if m.size < 0xFFFFFFFF:
        return len(m.payload), m.size, b""
    extra = struct.pack("<HHQQ", 1, 16, m.size, len(m.payload))
    return 0xFFFFFFFF, 0xFFFFFFFF, extra


def _local_header(m: ZipMember) -> bytes:
    name = m.name.encode("utf-8")
    packed, size, extra = _sizes(m)
    version = 45 if extra else 20
    fields = (0x04034B50, version, m.flags, m.method, *_DOS_TIME, m.crc, packed, size)
    return struct.pack("<IHHHHHIIIHH", *fields, len(name), len(extra)) + name + extra


def _central_header(m: ZipMember, offset: int) -> bytes:
    name = m.name.encode("utf-8")
    packed, size, extra = _sizes(m)
    version = 45 if extra else 20
    made_by = 0x0300 | version  # Unix, so external_attr's high bits are a mode
    fields = (0x02014B50, made_by, version, m.flags, m.method, *_DOS_TIME, m.crc, packed, size)
    lengths = (len(name), len(extra), 0, 0, 0, m.external_attr, offset)
    return struct.pack("<IHHHHHHIIIHHHHHII", *fields, *lengths) + name + extra
