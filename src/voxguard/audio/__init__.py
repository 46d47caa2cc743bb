"""Audio front end: decode anything to 16 kHz mono float32, find speech, report quality."""

from voxguard.audio.decode import TARGET_SAMPLE_RATE, load_audio
from voxguard.audio.types import AudioClip, AudioMetadata, AudioSource

__all__ = ["TARGET_SAMPLE_RATE", "AudioClip", "AudioMetadata", "AudioSource", "load_audio"]
