"""The engines the service wraps, as protocols, and how they are loaded once at start-up.

Missing engines are not faked: the loader reports them unavailable with a reason, and the
workflows that need them answer ``ModelUnavailable`` (HTTP 503) or, for the optional spoof
check, say explicitly that it was not run.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from voxguard.audio.analysis import AnalyzedAudio
from voxguard.audio.types import Channel
from voxguard.config import Settings
from voxguard.errors import ModelUnavailable
from voxguard.speaker.frames import FrameAnalysis
from voxguard.speaker.types import Embedding, IdentificationResult, VerificationResult, Voiceprint

log = logging.getLogger(__name__)


class SpeakerEngineLike(Protocol):
    @property
    def model_version(self) -> str: ...

    def embed(self, analyzed: AnalyzedAudio, variants: bool = False) -> Embedding:
        """``variants``: also embed channel variants (enrollment) where the engine has them."""
        ...

    def embed_frames(self, analysis: FrameAnalysis) -> Embedding:
        """Embedding of privacy-mode frames (features sent instead of audio)."""
        ...

    def enroll(
        self, embeddings: list[Embedding], existing: Voiceprint | None = None
    ) -> Voiceprint: ...

    def verify(self, voiceprint: Voiceprint, embedding: Embedding) -> VerificationResult: ...

    def identify(self, embedding: Embedding, gallery: Any, top_k: int) -> IdentificationResult:
        """``gallery``: voiceprints by speaker id, or what ``engine.gallery`` built from them."""
        ...


@dataclass(frozen=True)
class SpoofVerdict:
    probability: float  # calibrated P(synthetic)
    is_synthetic: bool
    threshold: float
    windows: list[dict[str, float]] = field(default_factory=list)  # start_s, end_s, score
    # "narrowband": heard as a phone line; "band_limited": its top band empty (MP3 at 16 kHz,
    # a low-pass); each calibrated as such.
    channel: Channel = "wideband"
    short_speech: bool = False  # too little speech for the usual calibration: a flatter one
    # The model's classical-TTS head, fused into ``probability``: its gated probability (0
    # when the head stayed below its gate); None when the model has no such head.
    classical_tts_probability: float | None = None


class SpoofDetectorLike(Protocol):
    @property
    def model_version(self) -> str: ...

    def detect(self, analyzed: AnalyzedAudio) -> SpoofVerdict: ...


@dataclass
class Loaded:
    """An engine, or why there is none."""

    engine: Any
    reason: str | None = None

    @property
    def available(self) -> bool:
        return self.engine is not None


class SpoofAdapter:
    """``voxguard.spoof``'s detector (clip in, ``SpoofResult`` out) behind ``SpoofDetectorLike``."""

    def __init__(self, detector: Any) -> None:
        self.detector = detector

    @property
    def model_version(self) -> str:
        sidecar = getattr(self.detector, "sidecar", None)
        version = getattr(self.detector, "model_version", None) or getattr(sidecar, "version", None)
        return str(version or "spoof")

    @property
    def threshold(self) -> float:
        """The detector's calibrated default decision threshold, from its sidecar."""
        return float(self.detector.sidecar.threshold)

    @property
    def channel_thresholds(self) -> dict[str, float]:
        """The verdict threshold of each calibration block, as the detector applies it (the
        block's own, else the default; VOXGUARD_SPOOF_THRESHOLD overrides all), and of short
        speech on any channel (``short_speech``)."""
        thresholds_by_block = getattr(self.detector, "thresholds_by_block", None)
        if thresholds_by_block is None:
            return {}
        return {block: float(t) for block, t in thresholds_by_block().items()}

    @property
    def operating_points(self) -> dict[str, Any] | None:
        """The model's measured error rates per threshold and where they come from; None when
        its sidecar records none."""
        sidecar = getattr(self.detector, "sidecar", None)
        if sidecar is None or not sidecar.operating_points:
            return None
        metrics = sidecar.raw.get("metrics", {})
        return {
            "protocol": metrics.get("protocol", ""),
            "source": metrics.get("operating_points_source", ""),
            "measured": sidecar.raw.get("created", ""),
            "eer": metrics.get("eer"),
            "points": [asdict(p) for p in sidecar.operating_points],
        }

    def detect(self, analyzed: AnalyzedAudio) -> SpoofVerdict:
        result = self.detector.detect_clip(analyzed.clip, analyzed.vad_frames)
        return SpoofVerdict(
            probability=round(float(result.probability), 6),
            is_synthetic=bool(result.is_spoof),
            threshold=float(result.threshold),
            windows=[
                {"start_s": w.start_s, "end_s": w.end_s, "probability": round(w.probability, 6)}
                for w in result.windows
            ],
            channel=result.channel,
            short_speech=bool(result.short_speech),
            classical_tts_probability=_rounded(result.classical_tts_probability),
        )


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(float(value), 6)


if TYPE_CHECKING:  # the real engine must keep fitting the protocol the service codes against
    from voxguard.speaker.engine import SpeakerEngine

    _conforms: type[SpeakerEngineLike] = SpeakerEngine


def load_speaker_engine(settings: Settings) -> Loaded:
    return _load("voxguard.speaker.engine", "SpeakerEngine", settings, "speaker engine")


def load_spoof_detector(settings: Settings, vad: Any = None) -> Loaded:
    """``vad``: a speech detector to share (the front end's) instead of loading another."""
    options = {} if vad is None else {"vad": vad}
    loaded = _load("voxguard.spoof.detector", "SpoofDetector", settings, "spoof detector", options)
    return Loaded(SpoofAdapter(loaded.engine)) if loaded.available else loaded


def _load(
    module_name: str,
    class_name: str,
    settings: Settings,
    what: str,
    options: dict[str, Any] | None = None,
) -> Loaded:
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError:
        return Loaded(None, f"the {what} is not part of this build ({module_name} is missing)")
    factory = getattr(module, class_name)
    try:
        engine = factory(settings=settings, **(options or {}))
    except ModelUnavailable as exc:
        log.warning("%s unavailable: %s", what, exc.message)
        return Loaded(None, exc.message)
    return Loaded(engine)


def require_speaker(loaded: Loaded) -> SpeakerEngineLike:
    if loaded.engine is None:
        raise ModelUnavailable(f"Speaker recognition is unavailable: {loaded.reason}")
    engine: SpeakerEngineLike = loaded.engine
    return engine


def require_spoof(loaded: Loaded) -> SpoofDetectorLike:
    if loaded.engine is None:
        raise ModelUnavailable(f"Spoof detection is unavailable: {loaded.reason}")
    engine: SpoofDetectorLike = loaded.engine
    return engine
