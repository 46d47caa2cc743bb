"""The numpy fast path for 16 kHz PCM 16-bit WAV decodes exactly as the PyAV path does."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import encode_audio, tone
from voxguard.audio import decode, load_audio
from voxguard.audio.types import AudioClip
from voxguard.audio.wav import parse_pcm16_wav, wav_bytes, write_wav
from voxguard.config import Settings
from voxguard.errors import AudioTooLong, AudioTooShort


def _wav(pcm: np.ndarray, rate: int = 16000, extra_chunk: bytes = b"") -> bytes:
    """A hand-built PCM 16-bit WAV; ``pcm`` is (frames, channels) int16."""
    channels = pcm.shape[1]
    body = pcm.astype("<i2").tobytes()
    fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * 2 * channels, 2 * channels, 16)
    chunks = b"fmt " + struct.pack("<I", 16) + fmt + extra_chunk
    chunks += b"data" + struct.pack("<I", len(body)) + body
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks


def _via_pyav(data: bytes, monkeypatch: pytest.MonkeyPatch) -> AudioClip:
    with monkeypatch.context() as patch:
        patch.setattr(decode, "parse_pcm16_wav", lambda *_: None)
        return load_audio(data)


def _random_pcm(frames: int, channels: int) -> np.ndarray:
    rng = np.random.default_rng(channels)
    pcm = rng.integers(-32768, 32768, size=(frames, channels), dtype=np.int16)
    pcm[:2] = [[-32768] * channels, [32767] * channels]  # both extremes
    return pcm


@pytest.mark.parametrize("channels", [1, 2, 3])
def test_fast_path_matches_pyav_bit_for_bit(channels: int, monkeypatch: pytest.MonkeyPatch) -> None:
    # An odd-sized JUNK chunk before the data checks the chunk walk and its padding byte.
    data = _wav(_random_pcm(16000, channels), extra_chunk=b"JUNK" + struct.pack("<I", 3) + b"abc\0")
    assert parse_pcm16_wav(data, 16000) is not None
    fast, slow = load_audio(data), _via_pyav(data, monkeypatch)
    np.testing.assert_array_equal(fast.samples, slow.samples)
    assert fast.samples.dtype == np.float32
    assert fast.metadata == slow.metadata


def test_pyav_written_wav_takes_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    data = encode_audio(tone(0.5, 16000), 16000, "wav", "pcm_s16le")
    assert parse_pcm16_wav(data, 16000) is not None
    fast, slow = load_audio(data), _via_pyav(data, monkeypatch)
    np.testing.assert_array_equal(fast.samples, slow.samples)
    assert fast.metadata == slow.metadata


@pytest.mark.parametrize(
    "data",
    [
        _wav(_random_pcm(800, 1), rate=8000),  # needs resampling
        encode_audio(tone(0.5, 16000), 16000, "wav", "pcm_s24le", "s32"),
        encode_audio(tone(0.5, 16000), 16000, "wav", "pcm_f32le", "flt"),
        _wav(_random_pcm(1600, 1))[:-100],  # data chunk longer than the file
    ],
    ids=["8k", "s24", "float", "truncated"],
)
def test_anything_else_goes_to_pyav(data: bytes) -> None:
    assert parse_pcm16_wav(data, 16000) is None
    assert load_audio(data).samples.size > 0


def test_fast_path_keeps_the_limits() -> None:
    with pytest.raises(AudioTooShort):
        load_audio(_wav(_random_pcm(100, 1)))
    with pytest.raises(AudioTooLong):
        load_audio(_wav(_random_pcm(16000 * 3, 1)), Settings(max_duration_s=1.0))


def test_written_wav_reads_back_to_16_bit_precision(tmp_path: Path) -> None:
    samples = (0.5 * np.sin(np.linspace(0, 200, 16000))).astype(np.float32)
    path = tmp_path / "out" / "x.wav"
    write_wav(path, samples, 16000)
    assert path.read_bytes() == wav_bytes(samples, 16000)
    back = load_audio(path).samples
    np.testing.assert_allclose(back, samples, atol=1 / 32767)
