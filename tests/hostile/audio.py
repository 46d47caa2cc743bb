"""Hostile audio files: for every endpoint that takes a recording."""

from __future__ import annotations

import io
from collections.abc import Iterator

import av
import numpy as np

from tests.hostile import formats as f
from tests.hostile.kinds import (
    BROKEN,
    DECODE,
    NOT_SPEECH,
    TOO_LONG,
    UNSUPPORTED,
    Hostile,
    audio,
    pcm16,
    tone,
    tone_wav,
)

TEN_HOURS = 36_000


def encoded(container: str, codec: str, rate: int, sample_format: str) -> bytes:
    """2 s of the tone through a real encoder, bit-exact (no random Ogg serial, no version
    tags), so the bytes are the same on every run."""
    pcm = pcm16(tone(2.0, rate))[:, 0]
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=container, options={"fflags": "+bitexact"}) as out:
        stream: av.AudioStream = out.add_stream(  # type: ignore[assignment]
            codec, rate=rate, layout="mono", options={"flags": "+bitexact"}
        )
        stream.format = sample_format
        size = stream.codec_context.frame_size or 1152
        for start in range(0, pcm.size, size):
            frame = av.AudioFrame.from_ndarray(
                pcm[None, start : start + size], format=sample_format, layout="mono"
            )
            frame.sample_rate, frame.pts = rate, start
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buffer.getvalue()


def empty_and_cut() -> Iterator[Hostile]:
    for ext in ("wav", "flac", "mp3", "ogg"):
        yield audio(f"empty_{ext}", f"empty.{ext}", b"", "zero bytes", DECODE)
    wav = tone_wav()
    yield from [
        audio(
            "header_only_wav",
            "header.wav",
            f.riff(f.fmt_chunk(f.PCM, 1, 16000, 16), f.chunk(b"data", b"")),
            "a WAV header, no samples",
            frozenset({"audio_too_short"}),
        ),
        audio(
            "header_only_flac",
            "header.flac",
            f.flac_streaminfo(16000, 1, 4096, 16000),
            "STREAMINFO, no frames",
            BROKEN,
        ),
        audio(
            "header_only_mp3",
            "header.mp3",
            b"ID3\x04\x00\x00\x00\x00\x00\x10" + bytes(16),
            "an ID3 tag, no frames",
            DECODE,
        ),
        audio(
            "header_only_ogg",
            "header.ogg",
            b"".join(f.opus_headers()),
            "Opus headers, no packets",
            BROKEN,
        ),
        audio("cut_in_header_wav", "cut.wav", wav[:30], "cut inside the fmt chunk", DECODE),
        audio(
            "cut_odd_wav",
            "cut-odd.wav",
            wav[: len(wav) // 2 + 1],
            "cut mid-sample; its data size says twice as much",
            NOT_SPEECH,
        ),
    ]
    for ext, codec, rate, sample_format in (
        ("flac", "flac", 16000, "s16"),
        ("mp3", "libmp3lame", 16000, "s16p"),
        ("ogg", "libopus", 48000, "s16"),
    ):
        data = encoded(ext, codec, rate, sample_format)
        cut = data[: len(data) * 3 // 5]
        yield audio(f"cut_{ext}", f"cut.{ext}", cut, f"a {ext.upper()} cut at 60%", BROKEN)
        what = f"the first 40 bytes of a {ext.upper()}"
        yield audio(f"cut_early_{ext}", f"cut-early.{ext}", data[:40], what, BROKEN)


def lying_sizes() -> Iterator[Hostile]:
    pcm = pcm16(tone(1.0, 16000))
    body = f.chunk(b"data", pcm.tobytes())
    fmt16 = f.fmt_chunk(f.PCM, 1, 16000, 16)
    wav44 = pcm16(tone(1.0, 44100))
    lies = [
        ("riff_size_huge", "RIFF size 4 GB", f.wav(pcm, 16000, riff_size=2**32 - 1), NOT_SPEECH),
        ("riff_size_zero", "RIFF size 0", f.wav(pcm, 16000, riff_size=0), NOT_SPEECH),
        ("data_size_huge", "data claims 4 GB", f.wav(pcm, 16000, data_size=2**32 - 16), BROKEN),
        (
            "data_size_huge_44k",
            "44.1 kHz, data claims 4 GB",
            f.wav(wav44, 44100, data_size=2**32 - 16),
            BROKEN,
        ),
        ("data_size_small", "data claims 10 bytes", f.wav(pcm, 16000, data_size=10), BROKEN),
        ("data_size_odd", "data claims 3 bytes", f.wav(pcm, 16000, data_size=3), BROKEN),
        (
            "fmt_size_huge",
            "fmt chunk claims 4 GB",
            f.riff(f.chunk(b"fmt ", fmt16[8:], 2**32 - 16), body),
            BROKEN,
        ),
        (
            "fmt_too_short",
            "fmt chunk of 4 bytes",
            f.riff(f.chunk(b"fmt ", fmt16[8:12]), body),
            BROKEN,
        ),
        ("no_fmt", "data chunk, no fmt chunk", f.riff(body), BROKEN),
        ("data_before_fmt", "data chunk before the fmt chunk", f.riff(body, fmt16), BROKEN),
        (
            "chunk_maze",
            "100,000 empty chunks before fmt",
            f.riff(f.chunk(b"junk", b"") * 100_000, fmt16, body),
            BROKEN,
        ),
        (
            "list_size_lie",
            "a LIST chunk claiming 2 GB",
            f.riff(fmt16, f.chunk(b"LIST", b"INFO", 2**31 - 1), body),
            BROKEN,
        ),
        (
            "rifx_lies",
            "big-endian RIFX, little-endian body",
            b"RIFX" + f.wav(pcm, 16000)[4:],
            BROKEN,
        ),
    ]
    for key, what, data, expect in lies:
        yield audio(key, f"{key}.wav", data, what, expect)


def odd_fields() -> Iterator[Hostile]:
    body = f.chunk(b"data", pcm16(tone(1.0, 16000)).tobytes())
    pcm = f.PCM
    fields = [
        ("channels_zero", "0 channels", f.fmt_chunk(pcm, 0, 16000, 16, align=2), BROKEN),
        ("channels_65535", "65535 channels", f.fmt_chunk(pcm, 65535, 16000, 16, align=2), BROKEN),
        ("rate_zero", "sampled at 0 Hz", f.fmt_chunk(pcm, 1, 0, 16), BROKEN),
        (
            "rate_1hz",
            "sampled at 1 Hz",
            f.fmt_chunk(pcm, 1, 1, 16),
            BROKEN | {"sample_rate_too_low"},
        ),
        ("rate_2ghz", "sampled at 2^31-1 Hz", f.fmt_chunk(pcm, 1, 2**31 - 1, 16), BROKEN),
        ("rate_4ghz", "sampled at 2^32-1 Hz", f.fmt_chunk(pcm, 1, 2**32 - 1, 16), BROKEN),
        ("bits_zero", "0 bits per sample", f.fmt_chunk(pcm, 1, 16000, 0, align=2), UNSUPPORTED),
        ("bits_12", "PCM at 12 bits", f.fmt_chunk(pcm, 1, 16000, 12, align=2), BROKEN),
        ("align_zero", "block align 0", f.fmt_chunk(pcm, 1, 16000, 16, align=0), BROKEN),
        ("unknown_codec", "format tag 0x1234", f.fmt_chunk(0x1234, 1, 16000, 16), UNSUPPORTED),
        (
            "extensible_bogus",
            "WAVE_FORMAT_EXTENSIBLE without its extension",
            f.fmt_chunk(f.EXTENSIBLE, 1, 16000, 16),
            UNSUPPORTED | DECODE,
        ),
    ]
    for key, what, fmt, expect in fields:
        yield audio(key, f"{key}.wav", f.riff(fmt, body), what, expect)


def wide_and_not_finite() -> Iterator[Hostile]:
    surround = tone(0.3, 192000, 8)
    ones = np.ones(16000, dtype="<f4")
    inf = ones.copy()
    inf[::2], inf[1::2] = np.inf, -np.inf
    sprinkled = tone(1.0, 44100)[:, 0].copy()
    sprinkled[::97], sprinkled[50::97] = np.nan, np.inf
    extremes = np.full(16000, 1e300)
    extremes[1::2] = 5e-324  # the smallest denormal
    yield from [
        audio(
            "ch8_192k_s16",
            "surround.wav",
            f.wav(pcm16(surround), 192000, channels=8),
            "8 channels at 192 kHz, 16-bit",
            NOT_SPEECH,
        ),
        audio(
            "ch8_192k_f32",
            "surround-float.wav",
            f.wav(surround[:28800], 192000, channels=8, dtype="<f4"),
            "8 channels at 192 kHz, float",
            NOT_SPEECH,
        ),
        audio(
            "ch8_192k_flac",
            "surround.flac",
            f.flac_silence(192000, 8, 5.0, declare=True, block=4096),
            "8 channels at 192 kHz, FLAC (crashed the server process before)",
            NOT_SPEECH,
        ),
        audio(
            "ch255_16k",
            "many.wav",
            f.wav(pcm16(tone(0.1, 16000, 255)), 16000, channels=255),
            "255 channels",
            NOT_SPEECH,
        ),
        audio(
            "ch64_44k",
            "many44.wav",
            f.wav(pcm16(tone(0.05, 44100, 64)), 44100, channels=64),
            "64 channels at 44.1 kHz (resampled)",
            BROKEN,
        ),
        audio("nan", "nan.wav", f.wav(ones * np.nan, 16000), "float WAV of NaN", NOT_SPEECH),
        audio("inf", "inf.wav", f.wav(inf, 16000), "float WAV of +Inf and -Inf", NOT_SPEECH),
        audio(
            "nan_44k",
            "nan44.wav",
            f.wav(sprinkled, 44100),
            "44.1 kHz float with NaN and Inf through it (resampled)",
            NOT_SPEECH,
        ),
        audio(
            "f64_extremes",
            "extremes.wav",
            f.wav(extremes, 16000, dtype="<f8"),
            "64-bit float at 1e300 and denormals",
            NOT_SPEECH,
        ),
    ]


def long_claims_and_bombs() -> Iterator[Hostile]:
    second = pcm16(tone(1.0, 16000)).tobytes()
    u8 = (tone(1.0, 8000)[:, 0] * 127 + 128).astype(np.uint8).tobytes()
    ten_s = f.flac_silence(16000, 1, 10.0, declare=True, block=4096)
    claims_ten_hours = f.flac_streaminfo(16000, 1, 4096, 16000 * TEN_HOURS) + ten_s[42:]
    # MPEG-2.5 layer III, 8 kbit/s at 8 kHz, mono, no CRC, empty side info: 72 ms of silence.
    silent_mp3 = bytes([0xFF, 0xE3, 0x18, 0xC0]) + bytes(68)
    yield from [
        audio(
            "ten_hours_wav",
            "ten-hours.wav",
            f.riff(f.fmt_chunk(f.PCM, 1, 16000, 16), f.chunk(b"data", second, 32000 * TEN_HOURS)),
            "header claims 10 hours, holds 1 s",
            TOO_LONG | BROKEN,
        ),
        audio(
            "ten_hours_u8_wav",
            "ten-hours-8bit.wav",
            f.riff(f.fmt_chunk(f.PCM, 1, 8000, 8), f.chunk(b"data", u8, 8000 * TEN_HOURS)),
            "8-bit 8 kHz, header claims 10 hours",
            TOO_LONG | BROKEN,
        ),
        audio(
            "ten_hours_flac",
            "ten-hours.flac",
            claims_ten_hours,
            "STREAMINFO claims 10 hours, holds 10 s",
            TOO_LONG | BROKEN,
        ),
        audio(
            "ten_hours_opus",
            "ten-hours.ogg",
            f.ogg_opus_silence(TEN_HOURS, honest_granules=True),
            "0.9 MB of Opus, 10 hours declared",
            TOO_LONG,
        ),
        audio(
            "chained_ogg",
            "chained.ogg",
            f.ogg_opus_silence(3, honest_granules=True)
            + f.ogg_opus_silence(3, honest_granules=True, channels=2, serial=2),
            "a chained Ogg whose second stream turns mono into stereo",
            BROKEN,
        ),
        audio(
            "bomb_flac_8k",
            "bomb.flac",
            f.flac_silence(8000, 1, TEN_HOURS, declare=False),
            "64 kB of FLAC: 10 hours of silence, its length not declared",
            TOO_LONG,
        ),
        audio(
            "bomb_flac_wide",
            "bomb-wide.flac",
            f.flac_silence(655350, 8, 600, declare=False),
            "0.2 MB of FLAC: 10 minutes of 8 channels at 655 kHz (18 s of CPU before)",
            TOO_LONG,
        ),
        audio(
            "bomb_opus",
            "bomb.ogg",
            f.ogg_opus_silence(TEN_HOURS, honest_granules=False),
            "0.9 MB of Opus: 10 hours of silence, every granule 0",
            TOO_LONG,
        ),
        audio(
            "bomb_mp3",
            "silence.mp3",
            silent_mp3 * 14_000,
            "14,000 silent MP3 frames: 17 minutes",
            TOO_LONG,
        ),
    ]


HTML = b"<!doctype html><html><body><script>fetch('/v1/speakers',{method:'DELETE'})</script>"
M3U8 = (
    b"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nfile:///etc/passwd\n"
    b"#EXTINF:10,\nhttp://169.254.169.254/latest/meta-data/\n#EXT-X-ENDLIST\n"
)
FFCONCAT = b"ffconcat version 1.0\nfile '/etc/passwd'\nfile 'http://127.0.0.1:6379/'\n"


def wav_zip_polyglot() -> bytes:
    """A WAV with a ZIP after it: a WAV to a decoder, a ZIP (holding ../evil.wav) to a
    ZIP reader, which looks for its directory from the end."""
    return f.zip_archive([f.deflated(tone_wav(), "../evil.wav")], prefix=tone_wav())


def disguised() -> Iterator[Hostile]:
    not_audio = [
        ("png_as_wav", "picture.wav", f.png_1x1(), "a PNG named .wav"),
        ("html_as_wav", "page.wav", HTML, "an HTML page with a script, named .wav"),
        ("m3u8_as_wav", "playlist.wav", M3U8, "an HLS playlist of local and metadata URLs"),
        ("ffconcat_as_wav", "list.wav", FFCONCAT, "an FFmpeg concat list of local files"),
        ("elf_as_flac", "program.flac", b"\x7fELF\x02\x01\x01" + bytes(57), "an ELF header"),
        ("avi_as_wav", "movie.wav", b"RIFF\x10\x00\x00\x00AVI LIST" + bytes(8), "RIFF/AVI"),
        ("pdf_as_ogg", "paper.ogg", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + b"0" * 200, "a PDF"),
    ]
    for key, name, data, what in not_audio:
        yield audio(key, name, data, what, UNSUPPORTED)
    magic_then_junk = [
        ("wav_png_body", "riff.wav", f.riff(f.chunk(b"fmt ", f.png_1x1())), "WAVE, then a PNG"),
        ("id3_then_html", "tagged.mp3", b"ID3\x03\x00\x00\x00\x00\x01\x00" + HTML, "ID3, HTML"),
        ("oggs_junk", "junk.ogg", b"OggS" + bytes(range(256)) * 4, "Ogg magic, then junk"),
        ("flac_junk", "junk.flac", b"fLaC" + bytes(range(256)) * 4, "FLAC magic, then junk"),
        ("ftyp_junk", "junk.m4a", b"\0\0\0\x18ftypM4A " + b"\xff" * 1000, "MP4 magic, junk"),
        ("ebml_junk", "junk.webm", b"\x1a\x45\xdf\xa3" + b"\x01" * 1000, "EBML magic, junk"),
        ("adts_junk", "junk.aac", b"\xff\xf1" + b"\xff" * 1000, "ADTS sync, then junk"),
    ]
    for key, name, data, what in magic_then_junk:
        yield audio(key, name, data, what, BROKEN)
    info = f.chunk(b"LIST", b"INFO" + f.chunk(b"INAM", HTML))
    scripted = f.riff(f.fmt_chunk(f.PCM, 1, 16000, 16), info, f.chunk(b"data", tone_wav()[44:]))
    yield from [
        audio(
            "wav_as_mp3", "wav.mp3", tone_wav(), "a WAV named .mp3 (judged by content)", NOT_SPEECH
        ),
        audio(
            "wav_zip_polyglot",
            "polyglot.wav",
            wav_zip_polyglot(),
            "a WAV that is also a ZIP holding ../evil.wav",
            NOT_SPEECH,
        ),
        audio(
            "wav_html_chunk",
            "<img src=x onerror=alert(1)>.wav",
            scripted,
            "a WAV carrying an HTML/script chunk, under an HTML file name",
            NOT_SPEECH,
        ),
    ]


def hostile_names() -> Iterator[Hostile]:
    cut = tone_wav()[:30]
    names = [
        ("name_traversal", "../../etc/passwd.wav", "path traversal"),
        ("name_windows_traversal", "..\\..\\windows\\win.ini.wav", "Windows path traversal"),
        ("name_absolute", "/etc/passwd.wav", "an absolute path"),
        ("name_unicode", "ünïcödé_语音_🎙️_\u0301.wav", "non-ASCII, an emoji, a lone accent"),
        ("name_rtl", "evil\u202egnp.wav", "a right-to-left override"),
        ("name_300", "a" * 300 + ".wav", "a 304-character name"),
        ("name_1100", "é" * 1100 + ".wav", "a 1104-character name (2204 bytes)"),
        ("name_dots", "....wav", "dots only"),
        ("name_control", "bell\x07tab\tnul\x00.wav", "control characters and a NUL"),
    ]
    # A dataset refuses a name it cannot keep as a path before it reads the file.
    expect = DECODE | {"invalid_labels"}
    for key, name, what in names:
        yield audio(key, name, cut, f"{what}; the file is a cut WAV", expect)


def audio_files() -> Iterator[Hostile]:
    for part in (
        empty_and_cut,
        lying_sizes,
        odd_fields,
        wide_and_not_finite,
        long_claims_and_bombs,
        disguised,
        hostile_names,
    ):
        yield from part()
