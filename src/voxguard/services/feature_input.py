"""Privacy-mode payloads (speaker-encoder features, no audio) -> analysed frames.

The counterpart of ``audio_input`` for clients that never send audio: the payload is checked
and its speech found by ``voxguard.speaker.frames``; the event records what was received,
and that no audio was.
"""

from __future__ import annotations

from typing import Any

from voxguard.audio.quality import QualityCode
from voxguard.config import Settings
from voxguard.errors import AudioTooShort, NoSpeechDetected
from voxguard.services.schemas import MelFeaturesIn
from voxguard.speaker.frames import FrameAnalysis, analyze_frames, check_features

SOURCE = "features"


def analyze_features(body: MelFeaturesIn, settings: Settings) -> FrameAnalysis:
    features = check_features(
        body.mel,
        body.frame_rms,
        body.n_samples,
        sample_rate=body.sample_rate,
        n_fft=body.n_fft,
        hop_length=body.hop_length,
        n_mels=body.n_mels,
        max_duration_s=settings.max_duration_s,
        fbank=body.fbank,
    )
    analysis = analyze_frames(features, settings)
    if QualityCode.NO_SPEECH in analysis.quality.codes:
        raise NoSpeechDetected(
            "features: no speech was found in the frames (energy VAD); record someone speaking.",
            source=SOURCE,
        )
    speech_s, needed = analysis.quality.speech_s, settings.min_embed_speech_s
    if speech_s < needed:
        raise AudioTooShort(
            f"features: the frames hold {speech_s:.2f} s of speech (energy VAD); at least "
            f"{needed:.2f} s is needed (setting VOXGUARD_MIN_EMBED_SPEECH_S).",
            source=SOURCE,
            speech_s=speech_s,
            min_speech_s=needed,
        )
    return analysis


def features_metadata(analysis: FrameAnalysis) -> dict[str, Any]:
    quality = analysis.quality
    return {
        "source": SOURCE,
        "filename": None,
        "audio_stored": False,
        "sample_rate": 16000,
        "n_samples": analysis.features.n_samples,
        "frames": analysis.features.n_frames,
        "duration_s": quality.duration_s,
        "speech_s": quality.speech_s,
        "vad": "energy",
        "quality": quality.score(),
        "quality_codes": [str(c) for c in quality.codes],
    }
