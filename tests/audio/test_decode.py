from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import encode_audio, shared_data, tone
from voxguard.audio import AUDIO_FILE_SUFFIXES, TARGET_SAMPLE_RATE, audio_files_in, load_audio
from voxguard.config import Settings
from voxguard.errors import (
    AudioDecodeError,
    AudioTooLarge,
    AudioTooLong,
    AudioTooShort,
    NoAudioFiles,
    SampleRateTooLow,
    UnsupportedAudioFormat,
)

FORMATS = [
    # container, codec, sample format, rate, channels
    ("wav", "pcm_u8", "u8", 8000, 1),
    ("wav", "pcm_s16le", "s16", 16000, 1),
    ("wav", "pcm_s24le", "s32", 48000, 2),
    ("wav", "pcm_s32le", "s32", 22050, 1),
    ("wav", "pcm_f32le", "flt", 44100, 2),
    ("flac", "flac", "s16", 44100, 2),
    ("mp3", "libmp3lame", "fltp", 44100, 2),
    ("ogg", "vorbis", "fltp", 22050, 2),
    ("ogg", "libopus", "s16", 48000, 1),
    ("webm", "libopus", "s16", 48000, 2),
    ("ipod", "aac", "fltp", 44100, 1),
    ("adts", "aac", "fltp", 16000, 1),
]


@pytest.mark.parametrize(("container", "codec", "fmt", "rate", "channels"), FORMATS)
def test_every_accepted_format_decodes_to_16k_mono(
    container: str, codec: str, fmt: str, rate: int, channels: int
) -> None:
    data = encode_audio(tone(1.0, rate), rate, container, codec, fmt, channels)
    clip = load_audio(data)
    assert clip.sample_rate == TARGET_SAMPLE_RATE
    assert clip.samples.dtype == np.float32 and clip.samples.ndim == 1
    assert clip.metadata.original_sample_rate == rate
    assert clip.metadata.channels == channels
    # Lossy codecs add priming delay and padding; the duration stays close to 1 s.
    assert 0.9 < clip.duration_s < 1.15
    # The tone survives: its energy is near 0.3/sqrt(2) RMS.
    rms = float(np.sqrt(np.mean(clip.samples[4000:12000] ** 2)))
    assert 0.15 < rms < 0.3


def test_path_bytes_and_file_object_agree(tmp_path: Path) -> None:
    data = encode_audio(tone(0.5, 16000), 16000, "wav", "pcm_s16le")
    path = tmp_path / "a.wav"
    path.write_bytes(data)
    from_path = load_audio(path)
    from_bytes = load_audio(data)
    from_stream = load_audio(io.BytesIO(data))
    np.testing.assert_array_equal(from_path.samples, from_bytes.samples)
    np.testing.assert_array_equal(from_path.samples, from_stream.samples)


def test_shared_formats_decode() -> None:
    fsdd = load_audio(next(shared_data("fsdd").glob("*.wav")))
    assert fsdd.metadata.original_sample_rate == 8000
    libri = load_audio(next(shared_data("librispeech").glob("*.flac")))
    assert libri.metadata.codec == "flac"


@pytest.mark.parametrize(
    "payload",
    [b"", b"hello world, not audio", b"%PDF-1.4 a document", b"#EXTM3U\nfile:///etc/passwd\n"],
)
def test_non_audio_is_refused_with_accepted_formats(payload: bytes) -> None:
    with pytest.raises((UnsupportedAudioFormat, AudioDecodeError)) as info:
        load_audio(payload)
    assert "Accepted formats" in info.value.message


def test_truncated_file_is_a_decode_error() -> None:
    data = encode_audio(tone(2.0, 44100), 44100, "flac", "flac")
    with pytest.raises(AudioDecodeError) as info:
        load_audio(data[:60])
    assert "flac" in info.value.message


def test_missing_file() -> None:
    with pytest.raises(AudioDecodeError, match="not found"):
        load_audio(Path("/nonexistent/audio.wav"))


def test_a_folder_is_named_as_a_folder(tmp_path: Path) -> None:
    with pytest.raises(AudioDecodeError, match="is a folder, not an audio file"):
        load_audio(tmp_path)


def test_audio_files_in_a_folder_are_found_by_name_in_subfolders_too(tmp_path: Path) -> None:
    (tmp_path / "calls" / "monday").mkdir(parents=True)
    wanted = [
        tmp_path / "b.WAV",
        tmp_path / "calls" / "a.mp3",
        tmp_path / "calls" / "monday" / "c.flac",
    ]
    for path in [*wanted, tmp_path / "notes.txt", tmp_path / "calls" / "cover.jpg"]:
        path.write_bytes(b"x")
    assert audio_files_in(tmp_path) == sorted(wanted)
    assert ".opus" in AUDIO_FILE_SUFFIXES and ".m4a" in AUDIO_FILE_SUFFIXES


def test_a_folder_without_audio_files_says_what_was_looked_for(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("no audio here")
    with pytest.raises(NoAudioFiles, match=r"No audio files in the folder .*\.wav, \.flac") as err:
        audio_files_in(tmp_path)
    assert err.value.exit_code == 2


def test_size_limit_is_checked_before_decoding(tmp_path: Path) -> None:
    settings = Settings(max_upload_mb=0.01)
    data = encode_audio(tone(1.0, 16000), 16000, "wav", "pcm_s16le")
    path = tmp_path / "big.wav"
    path.write_bytes(data)
    for source in (path, data, io.BytesIO(data)):
        with pytest.raises(AudioTooLarge):
            load_audio(source, settings)


def test_duration_limit() -> None:
    settings = Settings(max_duration_s=1.0)
    data = encode_audio(tone(3.0, 8000), 8000, "wav", "pcm_s16le")
    with pytest.raises(AudioTooLong) as info:
        load_audio(data, settings)
    assert "limit" in info.value.message


def test_header_only_wav_is_too_short() -> None:
    data = encode_audio(tone(0.001, 16000), 16000, "wav", "pcm_s16le")
    with pytest.raises(AudioTooShort):
        load_audio(data)


@pytest.mark.parametrize(
    ("container", "codec", "rate"), [("wav", "pcm_s16le", 4000), ("flac", "flac", 6000)]
)
def test_below_telephone_rate_is_refused_naming_the_rate_and_the_floor(
    container: str, codec: str, rate: int
) -> None:
    data = encode_audio(tone(1.0, rate), rate, container, codec)
    with pytest.raises(SampleRateTooLow) as info:
        load_audio(data)
    assert f"{rate} Hz" in info.value.message and "8000 Hz" in info.value.message
    assert info.value.detail == {"sample_rate": rate, "min_sample_rate": 8000}
    assert info.value.http_status == 422


def test_telephone_rate_itself_is_accepted() -> None:
    clip = load_audio(encode_audio(tone(1.0, 8000), 8000, "wav", "pcm_s16le"))
    assert clip.metadata.original_sample_rate == 8000


def test_an_empty_file_is_named_as_it_is_and_unnamed_bytes_as_the_recording(
    tmp_path: Path,
) -> None:
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(AudioDecodeError) as named:
        load_audio(empty)
    assert named.value.message.startswith("empty.wav is empty.")
    with pytest.raises(AudioDecodeError) as unnamed:
        load_audio(b"")
    assert unnamed.value.message.startswith("the recording is empty.")
