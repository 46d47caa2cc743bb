"""Uploaded or local audio -> analyzed clip, with the file name in every error."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from voxguard.audio.analysis import AnalyzedAudio, AudioFrontEnd
from voxguard.audio.decode import load_audio
from voxguard.audio.quality import QualityCode, QualityReport
from voxguard.errors import (
    AudioDecodeError,
    AudioTooShort,
    InvalidInput,
    NoSpeechDetected,
    VoxGuardError,
)
from voxguard.services.schemas import Quality
from voxguard.services.stages import stage


@dataclass(frozen=True)
class AudioInput:
    filename: str
    data: bytes


def analyze(front_end: AudioFrontEnd, item: AudioInput) -> AnalyzedAudio:
    if not item.data:
        raise AudioDecodeError(f"{item.filename}: the file is empty.", filename=item.filename)
    try:
        # front_end.analyze in two timed stages.
        with stage("decode"):
            clip = load_audio(item.data, front_end.settings)
        with stage("vad"):
            return front_end.analyze_clip(clip)
    except VoxGuardError as exc:
        exc.message = f"{item.filename}: {exc.message}"
        exc.detail.setdefault("filename", item.filename)
        raise


def analyze_all(
    front_end: AudioFrontEnd, inputs: Sequence[AudioInput], limit: int, enrollment: bool = False
) -> list[AnalyzedAudio]:
    """Decode and check every file of a request before any of it is used or stored."""
    if not inputs:
        raise InvalidInput("At least one audio file is required.")
    if len(inputs) > limit:
        raise InvalidInput(f"At most {limit} files per request.", max_files=limit)
    analyzed = [analyze(front_end, item) for item in inputs]
    for item, audio in zip(inputs, analyzed, strict=True):
        require_speech(
            audio,
            item.filename,
            enrollment=enrollment,
            min_speech_s=front_end.settings.min_speech_s,
        )
    return analyzed


def require_speech(
    analyzed: AnalyzedAudio,
    filename: str,
    *,
    enrollment: bool = False,
    min_speech_s: float | None = None,
) -> None:
    codes = analyzed.quality.codes
    if QualityCode.NO_SPEECH in codes:
        raise NoSpeechDetected(
            f"{filename}: no speech was detected; record someone speaking.", filename=filename
        )
    if enrollment and QualityCode.TOO_SHORT in codes:
        raise AudioTooShort(
            f"{filename}: only {analyzed.quality.speech_s:.1f} s of speech; enrollment needs "
            + (f"at least {min_speech_s:.1f} s" if min_speech_s is not None else "more")
            + " of speech in each recording (setting VOXGUARD_MIN_SPEECH_S).",
            filename=filename,
            speech_s=analyzed.quality.speech_s,
            min_speech_s=min_speech_s,
        )


def quality_of(analyzed: AnalyzedAudio) -> Quality:
    return quality_out(analyzed.quality)


def quality_out(q: QualityReport) -> Quality:
    """The quality report as the API shows it, measured on audio or on its features."""
    return Quality(
        score=q.score(),
        duration_s=q.duration_s,
        speech_s=q.speech_s,
        snr_db=q.snr_db,
        level_dbfs=q.level_dbfs,
        bandwidth_hz=q.bandwidth_hz,
        codes=[str(c) for c in q.codes],
        messages=q.messages,
    )


def audio_metadata(analyzed: AnalyzedAudio, item: AudioInput) -> dict[str, Any]:
    meta = analyzed.clip.metadata
    return {
        "source": "audio",
        "filename": item.filename,
        "container": meta.container,
        "codec": meta.codec,
        "sample_rate": meta.original_sample_rate,
        "channels": meta.channels,
        "duration_s": round(meta.duration_s, 3),
        "size_bytes": meta.size_bytes,
        "speech_s": analyzed.quality.speech_s,
        "quality": analyzed.quality.score(),
        "quality_codes": [str(c) for c in analyzed.quality.codes],
    }
