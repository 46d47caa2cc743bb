"""Audio front end: decode anything to 16 kHz mono float32, find speech, report quality."""

from voxguard.audio.decode import (
    AUDIO_FILE_SUFFIXES,
    TARGET_SAMPLE_RATE,
    audio_files_in,
    load_audio,
)
from voxguard.audio.types import AudioClip, AudioMetadata, AudioSource

__all__ = [
    "AUDIO_FILE_SUFFIXES",
    "TARGET_SAMPLE_RATE",
    "AudioClip",
    "AudioMetadata",
    "AudioSource",
    "audio_files_in",
    "load_audio",
]
