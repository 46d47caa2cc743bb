"""The front end as one call: decode -> VAD -> quality, shared by every engine and shell."""

from __future__ import annotations

from dataclasses import dataclass

from voxguard.audio.decode import load_audio
from voxguard.audio.quality import QualityReport, assess_quality
from voxguard.audio.types import AudioClip, AudioSource, FloatArray
from voxguard.audio.vad import SpeechDetector, SpeechSegment, VadFrames, VadParams, speech_only
from voxguard.config import Settings, get_settings


@dataclass(frozen=True)
class AnalyzedAudio:
    clip: AudioClip
    segments: list[SpeechSegment]
    quality: QualityReport
    # The VAD's frame probabilities behind ``segments``, for a stage that needs the speech
    # found with other parameters (the spoof detector): the VAD runs once per clip.
    vad_frames: VadFrames | None = None

    @property
    def speech(self) -> FloatArray:
        return speech_only(self.clip.samples, self.segments)


class AudioFrontEnd:
    """Holds the VAD session; safe to share between threads (onnxruntime sessions are)."""

    def __init__(self, settings: Settings | None = None, detector: SpeechDetector | None = None):
        self.settings = settings or get_settings()
        self.detector = detector or SpeechDetector(threads=self.settings.inference_threads)
        self._vad_params = VadParams(threshold=self.settings.vad_threshold)

    def analyze_clip(self, clip: AudioClip) -> AnalyzedAudio:
        frames = self.detector.frames(clip.samples)
        segments = self.detector.segments(clip.samples, self._vad_params, frames)
        quality = assess_quality(clip.samples, segments, self.settings)
        return AnalyzedAudio(clip=clip, segments=segments, quality=quality, vad_frames=frames)

    def analyze(self, source: AudioSource) -> AnalyzedAudio:
        return self.analyze_clip(load_audio(source, self.settings))
