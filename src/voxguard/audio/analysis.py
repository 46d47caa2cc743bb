"""The front end as one call: decode -> VAD -> quality, shared by every engine and shell."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from voxguard.audio.decode import load_audio
from voxguard.audio.quality import QualityReport, assess_quality
from voxguard.audio.types import AudioClip, AudioSource, FloatArray
from voxguard.audio.vad import SpeechDetector, SpeechSegment, VadFrames, VadParams, speech_only
from voxguard.config import Settings, get_settings

# A stretch cut out of a recording mid-sound (a speaker's turn ends where another's starts)
# starts and ends on a step; joined as they are, the steps are clicks, broadband where the
# speech is not (a phone line has nothing above 4 kHz but them), and the spoof detector reads
# them as splicing. Each stretch fades in and out over this long before the join.
SPLICE_FADE_S = 0.02


def spliced(clip: AudioClip, spans: Sequence[tuple[float, float]]) -> AudioClip:
    """The samples of ``spans`` (start, end seconds) of ``clip``, each faded in and out
    linearly over ``SPLICE_FADE_S`` (half a stretch at most), joined as a clip of its own."""
    rate = clip.sample_rate
    parts = []
    for start, end in spans:
        part = clip.samples[int(start * rate) : int(end * rate)].astype(np.float32, copy=True)
        n = min(round(SPLICE_FADE_S * rate), part.size // 2)
        if n > 0:
            ramp = np.linspace(0.0, 1.0, n + 2, dtype=np.float32)[1:-1]
            part[:n] *= ramp
            part[-n:] *= ramp[::-1]
        parts.append(part)
    samples = np.concatenate(parts) if parts else np.zeros(0, np.float32)
    metadata = replace(clip.metadata, duration_s=round(samples.size / rate, 3))
    return AudioClip(samples=samples, sample_rate=rate, metadata=metadata)


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
