"""Audio through a lossy FFmpeg codec and back: how a phone line or a compressed upload
changes a recording, for channel simulation (speaker enrollment views, spoof training)."""

from __future__ import annotations

import io
import shutil
import subprocess

import av
import numpy as np

from voxguard.audio.types import FloatArray


def encode_decode(
    samples: FloatArray,
    rate: int,
    encoder: str,
    container: str,
    bit_rate: int | None = None,
    codec_frames: bool = True,
) -> FloatArray:
    """``samples`` (float in [-1, 1] at ``rate``) as 16-bit PCM through ``encoder`` in
    ``container`` and decoded back: float32 at ``rate``, with the codec's priming delay and
    padding still in (``fit_length`` cuts them off).

    ``codec_frames``: hand the encoder timestamped frames of its own size (160 samples when it
    has none), the last one zero-padded, as a streaming call encoder does; else the whole
    signal as one frame, which PyAV splits for the encoder. The two give slightly different
    audio at the end; each caller keeps the way its recipes were measured with.
    """
    pcm = np.clip(samples * 32767, -32768, 32767).astype(np.int16)
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format=container) as out:
        stream: av.AudioStream = out.add_stream(encoder, rate=rate, layout="mono")  # type: ignore[assignment]
        if bit_rate:
            stream.bit_rate = bit_rate
        frame_size = (stream.codec_context.frame_size or 160) if codec_frames else pcm.size
        # AAC and Vorbis take planar float only: hand them the same 16-bit samples as floats.
        takes = {f.name for f in stream.codec_context.codec.audio_formats or ()}
        as_float = bool(takes) and not takes & {"s16", "s16p"}
        frame_format = "fltp" if as_float else "s16"
        fed: np.ndarray = (pcm / np.float32(32768)).astype(np.float32) if as_float else pcm
        for start in range(0, fed.size, frame_size):
            chunk = fed[start : start + frame_size]
            if chunk.size < frame_size:
                chunk = np.pad(chunk, (0, frame_size - chunk.size))
            frame = av.AudioFrame.from_ndarray(chunk[None, :], format=frame_format, layout="mono")
            frame.sample_rate = rate
            if codec_frames:
                frame.pts = start
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    buffer.seek(0)
    pieces = []
    with av.open(buffer, mode="r") as decoded_file:
        for frame in decoded_file.decode(audio=0):
            array = frame.to_ndarray()
            scale = 32768.0 if np.issubdtype(array.dtype, np.integer) else 1.0
            channels = array.astype(np.float32) / scale
            pieces.append(channels.reshape(-1) if channels.shape[0] == 1 else channels.mean(axis=0))
    decoded: FloatArray = (
        np.concatenate(pieces).astype(np.float32) if pieces else np.zeros(0, dtype=np.float32)
    )
    return decoded


def fit_length(samples: FloatArray, length: int) -> FloatArray:
    """``samples`` cut or zero-filled to ``length``: a round trip keeps the input's timeline."""
    kept = samples[:length]
    out: FloatArray = np.pad(kept, (0, length - kept.size)).astype(np.float32)
    return out


# Encoders that PyAV's bundled FFmpeg lacks but Debian's `ffmpeg` command has (libspeex for
# Speex): these round trips go through that command.
CLI_CODEC_FORMATS = {"libspeex": "ogg"}


def cli_encode_decode(
    samples: FloatArray, rate: int, encoder: str, bit_rate: int | None = None
) -> FloatArray:
    """``samples`` (float at ``rate``) through ``encoder`` of the ``ffmpeg`` command and back,
    decoded at ``rate`` (the codec's delay and padding still in: ``fit_length`` cuts them).

    ``encoder``: a key of ``CLI_CODEC_FORMATS``. Speex codes narrowband at 8 kHz and wideband
    at 16 kHz (``rate`` picks the mode). Raises ``RuntimeError`` naming what is missing when
    there is no ``ffmpeg`` command or it lacks the encoder.
    """
    if encoder not in CLI_CODEC_FORMATS:
        raise ValueError(f"unknown encoder {encoder!r}: one of {sorted(CLI_CODEC_FORMATS)}")
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise RuntimeError(f"{encoder} needs the ffmpeg command (Debian: apt-get install ffmpeg)")
    raw = ["-f", "f32le", "-ar", str(rate), "-ac", "1"]
    quiet = [ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin"]
    rate_args = ["-b:a", str(bit_rate)] if bit_rate else []
    container = CLI_CODEC_FORMATS[encoder]
    coded = subprocess.run(
        [*quiet, *raw, "-i", "pipe:0", "-c:a", encoder, *rate_args, "-f", container, "pipe:1"],
        input=np.asarray(samples, dtype="<f4").tobytes(),
        capture_output=True,
        check=False,
    )
    if coded.returncode != 0 or not coded.stdout:
        raise RuntimeError(
            f"ffmpeg could not encode with {encoder}: {coded.stderr.decode()[-300:]}"
        )
    decoded = subprocess.run(
        [*quiet, "-i", "pipe:0", *raw, "pipe:1"],
        input=coded.stdout,
        capture_output=True,
        check=False,
    )
    if decoded.returncode != 0:
        raise RuntimeError(f"ffmpeg could not decode {encoder}: {decoded.stderr.decode()[-300:]}")
    return np.frombuffer(decoded.stdout, dtype="<f4").astype(np.float32)
