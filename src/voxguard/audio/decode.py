"""Decode any accepted audio input to 16 kHz mono float32 with PyAV.

The container format is sniffed from magic bytes and passed to FFmpeg explicitly, so FFmpeg
never guesses: demuxers that follow references (playlists, concat lists) can never be reached
from an upload, and a file in a format we do not accept is refused before decoding.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import BinaryIO

import av
import numpy as np

from voxguard.audio.types import AudioClip, AudioMetadata, AudioSource, FloatArray
from voxguard.audio.wav import parse_pcm16_wav
from voxguard.config import Settings, get_settings
from voxguard.errors import (
    ACCEPTED_FORMATS_TEXT,
    AudioDecodeError,
    AudioTooLarge,
    AudioTooLong,
    AudioTooShort,
    NoAudioFiles,
    SampleRateTooLow,
    UnsupportedAudioFormat,
)

TARGET_SAMPLE_RATE = 16_000
# A telephone line's rate: a file sampled below it has no band up to 4 kHz. Measured, the spoof
# detector called every genuine LibriSpeech excerpt resampled through 4 kHz synthetic.
MIN_SAMPLE_RATE = 8_000
_UNNAMED = "the recording"
_SNIFF_BYTES = 64
# Frames below this are not audio a person could speak into: refuse rather than embed noise.
_MIN_SAMPLES = 160
# Decoding work is bounded as well as the result's length: samples x channels at the source
# rate, at most max_duration_s of 8 channels at 48 kHz. A few kB of FLAC or Opus can declare
# no length and hold hours of 8 channels at 655 kHz: without this bound each such upload took
# 18 s of CPU before the length limit stopped it. Real recordings within VOXGUARD_MAX_UPLOAD_MB
# stay far below it (10 minutes of 192 kHz stereo FLAC is over 200 MB).
_WORK_RATE = 48_000
_WORK_CHANNELS = 8
# Name endings of the accepted formats, for finding the recordings in a folder. Decoding still
# sniffs each file's content, so a file is judged by what it holds, not by its name.
AUDIO_FILE_SUFFIXES = (
    ".wav", ".flac", ".mp3", ".ogg", ".oga", ".opus", ".webm", ".m4a", ".mp4", ".aac",
)  # fmt: skip


def audio_files_in(folder: Path) -> list[Path]:
    """The recordings under ``folder`` and its subfolders (by name ending), sorted by path."""
    found = sorted(
        p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_FILE_SUFFIXES
    )
    if not found:
        raise NoAudioFiles(
            f"No audio files in the folder {folder}: looked for names ending in "
            f"{', '.join(AUDIO_FILE_SUFFIXES)}.",
            path=str(folder),
            suffixes=list(AUDIO_FILE_SUFFIXES),
        )
    return found


def sniff_container(head: bytes) -> str | None:
    """FFmpeg demuxer name for the first bytes of a file, or None if not an accepted format."""
    if len(head) >= 12 and head[:4] in (b"RIFF", b"RIFX") and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:4] == b"OggS":
        return "ogg"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "matroska"  # also WEBM
    if len(head) >= 8 and head[4:8] == b"ftyp":
        return "mov"  # MP4 / M4A / 3GP
    if head[:3] == b"ID3":
        return "mp3"
    if len(head) >= 2 and head[0] == 0xFF:
        # MPEG audio frame sync: 11 set bits. ADTS (AAC) has layer bits 00.
        if head[1] & 0xF6 == 0xF0:
            return "aac"
        if head[1] & 0xE0 == 0xE0:
            return "mp3"
    return None


def _read_limited(source: AudioSource, max_bytes: int) -> tuple[bytes, str]:
    """Read the whole input, refusing it as soon as it is over ``max_bytes``."""
    if isinstance(source, str | Path):
        path = Path(source)
        if path.is_dir():
            raise AudioDecodeError(f"{path} is a folder, not an audio file.", path=str(path))
        if not path.is_file():
            raise AudioDecodeError(f"Audio file not found: {path}", path=str(path))
        size = os.path.getsize(path)
        if size > max_bytes:
            raise AudioTooLarge(
                f"Audio file is {size / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.1f} MB.",
                size_bytes=size,
                max_bytes=max_bytes,
            )
        return path.read_bytes(), path.name
    # Unnamed input reads as "the recording" in messages: the API puts the upload's filename
    # in front ("probe.wav: the recording is sampled at 4000 Hz; ...").
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        name = _UNNAMED
    else:
        data = _read_stream(source, max_bytes)
        name = str(getattr(source, "name", _UNNAMED))
    if len(data) > max_bytes:
        raise AudioTooLarge(
            f"Audio input is over the {max_bytes / 1e6:.1f} MB limit.", max_bytes=max_bytes
        )
    return data, name


def _read_stream(stream: BinaryIO, max_bytes: int) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while True:
        chunk = stream.read(1 << 20)
        if not chunk:
            break
        total += len(chunk)
        if total > max_bytes:
            raise AudioTooLarge(
                f"Audio input is over the {max_bytes / 1e6:.1f} MB limit.", max_bytes=max_bytes
            )
        chunks.append(chunk)
    return b"".join(chunks)


def load_audio(source: AudioSource, settings: Settings | None = None) -> AudioClip:
    """Decode ``source`` (path, bytes or binary file object) to 16 kHz mono float32.

    Raises a subclass of ``AudioError`` naming what was wrong and what is accepted.
    """
    settings = settings or get_settings()
    data, name = _read_limited(source, settings.max_upload_bytes)
    if not data:
        raise AudioDecodeError(f"{name} is empty. Accepted formats: {ACCEPTED_FORMATS_TEXT}.")
    container_format = sniff_container(data[:_SNIFF_BYTES])
    if container_format is None:
        raise UnsupportedAudioFormat(
            f"{name} is not in an accepted audio format. Accepted formats: "
            f"{ACCEPTED_FORMATS_TEXT}.",
            accepted=ACCEPTED_FORMATS_TEXT,
        )
    if container_format == "wav":
        wav = parse_pcm16_wav(data, TARGET_SAMPLE_RATE)
        if wav is not None:
            return _from_pcm16(wav.frames, wav.channels, len(data), name, settings)
    try:
        return _decode(data, container_format, len(data), name, settings)
    except (av.error.FFmpegError, ValueError, IndexError) as exc:
        raise AudioDecodeError(
            f"Could not decode {name} as {container_format}: the file is corrupt or truncated "
            f"({exc}). Accepted formats: {ACCEPTED_FORMATS_TEXT}.",
            container=container_format,
        ) from exc


def _from_pcm16(
    frames: np.ndarray, channels: int, size: int, name: str, settings: Settings
) -> AudioClip:
    """A 16 kHz PCM 16-bit WAV read by numpy; same limits, errors and floats as PyAV."""
    declared = frames.shape[0] / TARGET_SAMPLE_RATE
    if declared > settings.max_duration_s + 0.5:
        raise AudioTooLong(
            f"{name} lasts {declared:.1f} s; the limit is {settings.max_duration_s:.0f} s.",
            duration_s=declared,
            max_duration_s=settings.max_duration_s,
        )
    # FFmpeg's s16 -> float is x / 32768; channels are averaged as in _append_mono.
    planes = frames.T.astype(np.float32) * np.float32(1 / 32768)
    samples = planes.mean(axis=0, dtype=np.float32) if channels > 1 else planes[0]
    return _clip(samples, "wav", "pcm_s16le", TARGET_SAMPLE_RATE, channels, size, name)


def _decode(
    data: bytes, container_format: str, size: int, name: str, settings: Settings
) -> AudioClip:
    with av.open(io.BytesIO(data), mode="r", format=container_format) as container:
        if not container.streams.audio:
            raise AudioDecodeError(
                f"{name} contains no audio stream. Accepted formats: {ACCEPTED_FORMATS_TEXT}."
            )
        stream = container.streams.audio[0]
        if stream.codec_context is None:  # FFmpeg has no decoder for what the header names
            raise UnsupportedAudioFormat(
                f"{name} is a {container_format.upper()} file whose audio is in an encoding "
                f"VoxGuard cannot decode. Accepted formats: {ACCEPTED_FORMATS_TEXT}.",
                container=container_format,
                accepted=ACCEPTED_FORMATS_TEXT,
            )
        codec = stream.codec_context.name
        original_rate = int(stream.codec_context.sample_rate or stream.rate or 0)
        if 0 < original_rate < MIN_SAMPLE_RATE:
            raise SampleRateTooLow(
                f"{name} is sampled at {original_rate} Hz; VoxGuard needs at least "
                f"{MIN_SAMPLE_RATE} Hz (telephone quality). Below that the recording holds "
                f"nothing above {original_rate // 2} Hz, too little of the voice to verify a "
                "speaker or to tell synthetic speech from human.",
                sample_rate=original_rate,
                min_sample_rate=MIN_SAMPLE_RATE,
            )
        channels = int(stream.codec_context.channels or 0)
        declared = _declared_duration(container, stream)
        if declared is not None and declared > settings.max_duration_s + 0.5:
            raise AudioTooLong(
                f"{name} lasts {declared:.1f} s; the limit is {settings.max_duration_s:.0f} s.",
                duration_s=declared,
                max_duration_s=settings.max_duration_s,
            )
        samples = _decode_stream(container, stream, settings.max_duration_s, name)
    return _clip(samples, container_format, codec, original_rate, channels, size, name)


def _clip(
    samples: FloatArray,
    container_format: str,
    codec: str,
    original_rate: int,
    channels: int,
    size: int,
    name: str,
) -> AudioClip:
    if samples.size < _MIN_SAMPLES:
        raise AudioTooShort(
            f"{name} holds {samples.size / TARGET_SAMPLE_RATE * 1000:.0f} ms of audio; "
            "at least 10 ms is needed to analyse anything.",
        )
    metadata = AudioMetadata(
        container=container_format,
        codec=codec,
        original_sample_rate=original_rate,
        channels=channels,
        duration_s=samples.size / TARGET_SAMPLE_RATE,
        size_bytes=size,
    )
    return AudioClip(samples=samples, sample_rate=TARGET_SAMPLE_RATE, metadata=metadata)


def _declared_duration(
    container: av.container.InputContainer, stream: av.AudioStream
) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return float(container.duration) / av.time_base
    return None


def _decode_stream(
    container: av.container.InputContainer,
    stream: av.AudioStream,
    max_duration_s: float,
    name: str,
) -> FloatArray:
    # Interleaved float at 16 kHz keeping the source layout; channels are averaged in numpy so
    # any channel count downmixes the same way (FFmpeg's own matrix depends on the layout).
    # Interleaved, not planar: PyAV finds a planar frame's planes by walking FFmpeg's pointer
    # array to a NULL that is not there from 8 channels up, and crashes the process.
    resampler = av.AudioResampler(format="flt", rate=TARGET_SAMPLE_RATE)
    max_samples = int((max_duration_s + 0.5) * TARGET_SAMPLE_RATE)
    max_decoded = int((max_duration_s + 0.5) * _WORK_RATE * _WORK_CHANNELS)
    pieces: list[FloatArray] = []
    total = decoded = 0
    for frame in container.decode(stream):
        decoded += frame.samples * frame.layout.nb_channels
        if decoded > max_decoded:
            raise AudioTooLong(
                f"{name} holds more samples than VoxGuard decodes: at most "
                f"{max_duration_s:.0f} s of {_WORK_CHANNELS} channels at {_WORK_RATE} Hz, or "
                f"as many samples (it has {frame.layout.nb_channels} channels at "
                f"{frame.sample_rate} Hz and declares no length, or a false one).",
                max_duration_s=max_duration_s,
                channels=frame.layout.nb_channels,
                sample_rate=frame.sample_rate,
            )
        frame.pts = None  # let the resampler keep its own clock; broken timestamps are common
        for out in resampler.resample(frame):
            total += _append_mono(out, pieces)
        if total > max_samples:
            raise AudioTooLong(
                f"{name} is longer than the {max_duration_s:.0f} s limit.",
                max_duration_s=max_duration_s,
            )
    for out in resampler.resample(None):
        total += _append_mono(out, pieces)
    if not pieces:
        return np.zeros(0, dtype=np.float32)
    samples = np.concatenate(pieces)
    np.nan_to_num(samples, copy=False, nan=0.0, posinf=1.0, neginf=-1.0)
    return np.clip(samples, -1.0, 1.0).astype(np.float32, copy=False)


def _append_mono(frame: av.AudioFrame, pieces: list[FloatArray]) -> int:
    channels = frame.layout.nb_channels
    interleaved = np.asarray(frame.to_ndarray(), dtype=np.float32).reshape(-1)
    if channels > 1:
        # (channels, samples), averaged over channels as a planar frame's rows would be.
        planes = interleaved[: interleaved.size - interleaved.size % channels]
        mono = planes.reshape(-1, channels).T.mean(axis=0, dtype=np.float32)
    else:
        mono = interleaved
    pieces.append(mono)
    return int(mono.size)
