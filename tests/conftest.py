"""Shared fixtures: paths to the shared speech data and synthetic audio writers."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np
import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def shared_data(*parts: str) -> Path:
    """A path under ../shared/data, skipping the test with a reason when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared speech data not found at {path} (see ../shared/data/README.md)")
    return path


def encode_audio(
    samples: np.ndarray,
    sample_rate: int,
    container: str,
    codec: str,
    sample_format: str = "s16",
    channels: int = 1,
) -> bytes:
    """Encode float samples in [-1, 1] with PyAV into an in-memory file."""
    layout = "mono" if channels == 1 else "stereo"
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format=container) as out:
        # FFmpeg's native Vorbis encoder is flagged experimental.
        stream = out.add_stream(codec, rate=sample_rate, layout=layout, options={"strict": "-2"})
        stream.format = sample_format
        data = np.tile(samples.astype(np.float32), (channels, 1))
        frame_size = stream.codec_context.frame_size or 1024
        planar = sample_format.endswith("p")
        for start in range(0, data.shape[1], frame_size):
            chunk = data[:, start : start + frame_size]
            array = _convert(chunk, sample_format)
            if not planar:
                array = array.T.reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(array, format=sample_format, layout=layout)
            frame.sample_rate = sample_rate
            frame.pts = start
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buffer.getvalue()


def _convert(chunk: np.ndarray, sample_format: str) -> np.ndarray:
    base = sample_format.rstrip("p")
    if base == "u8":
        return np.clip(chunk * 127 + 128, 0, 255).astype(np.uint8)
    if base == "s16":
        return np.clip(chunk * 32767, -32768, 32767).astype(np.int16)
    if base == "s32":
        return np.clip(chunk * 2147483647.0, -2147483648, 2147483647).astype(np.int32)
    return chunk.astype(np.float32)


def tone(seconds: float, sample_rate: int, freq: float = 220.0) -> np.ndarray:
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    return (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.fixture
def make_tone() -> Callable[[float, int], np.ndarray]:
    return lambda seconds, rate: tone(seconds, rate)


@pytest.fixture(scope="session")
def conversation_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny diarization evaluation set (one conversation per condition) built from the shared
    LibriSpeech readers; skips without them."""
    from voxguard.evaluation.conversations import SetOptions, build_set

    librispeech = shared_data("librispeech")
    out = tmp_path_factory.mktemp("diar-set")
    build_set(SetOptions(out=out, seed=0, per_condition=1, librispeech=librispeech))
    return out
