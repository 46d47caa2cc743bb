"""Results of the workflows: the API's response bodies and what the CLI prints."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from voxguard.audio.types import Channel
from voxguard.risk import RiskAssessment


class Role(StrEnum):
    ADMIN = "admin"
    OPERATOR = "operator"
    READER = "reader"


class AlertStatus(StrEnum):
    PENDING = "PENDING"
    ACKNOWLEDGED = "ACKNOWLEDGED"
    RESOLVED = "RESOLVED"
    DISMISSED = "DISMISSED"


class Quality(BaseModel):
    score: float
    duration_s: float
    speech_s: float
    snr_db: float
    level_dbfs: float
    bandwidth_hz: float
    codes: list[str]
    messages: list[str]


class SpeakerOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    display_name: str
    external_id: str | None
    created_at: datetime
    updated_at: datetime
    enrollment_count: int
    speech_seconds: float
    quality: float
    behavior_profile: dict[str, Any] | None


class SpeakerPage(BaseModel):
    items: list[SpeakerOut]
    total: int
    offset: int
    limit: int


class SampleOut(BaseModel):
    filename: str
    speech_s: float
    quality: Quality


class EnrollOut(BaseModel):
    speaker: SpeakerOut
    samples: list[SampleOut]
    model_version: str
    recordings_kept: int = Field(
        default=0,
        description="recordings kept, encrypted, to re-embed the speaker after a speaker "
        "model change (VOXGUARD_KEEP_ENROLLMENT_AUDIO; 0 when off)",
    )


class CandidateOut(BaseModel):
    speaker_id: str
    display_name: str
    score: float
    normalized_score: float
    probability: float


# Hard ceiling on a privacy-mode payload (one hour at 100 frames/s), checked while parsing;
# the configured VOXGUARD_MAX_DURATION_S is checked after it.
MAX_FEATURE_FRAMES = 1 + 3600 * 100


class MelFeaturesIn(BaseModel):
    """Speaker-encoder input features of one 16 kHz mono recording, sent instead of audio.

    ``mel``: power mel frames (frames x 40) of the raw samples, as
    ``voxguard.speaker.features.mel_spectrogram`` computes them (n_fft 400, hop 160, 40
    Slaney mels, periodic Hann, centred with zero padding, no log), frames = 1 + n_samples //
    160. ``frame_rms``: per frame t, the RMS of samples [160 t, 160 t + 160) (zeros past the
    end). ``fbank`` (needed when the speaker model is CAM++): 80 Kaldi log mel filterbanks per
    frame as ``voxguard.speaker.campplus.kaldi_fbank`` computes them (25 ms Povey window,
    10 ms hop, pre-emphasis 0.97, DC removed, no dither, snip_edges), frames = 1 +
    (n_samples - 400) // 160. ``web/src/lib/melFeatures.ts`` builds this body in a browser.
    """

    model_config = ConfigDict(extra="forbid")
    sample_rate: int = Field(description="Must be 16000.")
    n_fft: int = Field(description="Must be 400.")
    hop_length: int = Field(description="Must be 160.")
    n_mels: int = Field(description="Must be 40.")
    n_samples: int = Field(ge=1, le=(MAX_FEATURE_FRAMES - 1) * 160)
    mel: list[list[float]] = Field(min_length=1, max_length=MAX_FEATURE_FRAMES)
    frame_rms: list[float] = Field(min_length=1, max_length=MAX_FEATURE_FRAMES)
    fbank: list[list[float]] | None = Field(
        default=None,
        max_length=MAX_FEATURE_FRAMES,
        description="80 Kaldi filterbanks per frame; needed by the CAM++ speaker model.",
    )


class VerifyFeaturesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    speaker_id: str = Field(min_length=1, max_length=64)
    features: MelFeaturesIn


class IdentifyFeaturesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    features: MelFeaturesIn
    top_k: int | None = Field(default=None, ge=1, le=100)


class VerifyOut(BaseModel):
    event_id: str
    speaker_id: str
    display_name: str
    similarity: float
    normalized_score: float
    llr: float
    probability: float
    threshold: float
    accepted: bool
    decision: Literal["accept", "reject"]
    quality: Quality


class IdentifyOut(BaseModel):
    event_id: str
    decision: Literal["identified", "unknown"]
    best: CandidateOut | None
    candidates: list[CandidateOut]
    quality: Quality


class SpoofOut(BaseModel):
    status: Literal["ok", "unavailable"]
    spoof_probability: float | None = None
    is_synthetic: bool | None = None
    threshold: float | None = None
    windows: list[dict[str, float]] = Field(default_factory=list)
    # "narrowband" when the speech sounded like a phone line and the model's phone-line
    # calibration gave the probability; "band_limited" when its top band was empty (MP3 at
    # 16 kHz, a low-pass) and that calibration gave it; "wideband" otherwise.
    channel: Channel | None = None
    # True when the speech was shorter than the model's short-speech limit and that flatter
    # calibration (short clips carry less evidence) gave the probability.
    short_speech: bool | None = None
    # The model's classical-TTS head (espeak-ng, Flite, Festival, Pico, RHVoice), already
    # fused into spoof_probability, which it can only raise: its probability, 0 when it
    # stayed below its gate; null when the model has no such head.
    classical_tts_probability: float | None = None
    model_version: str | None = None
    reason: str | None = None


class DetectOut(BaseModel):
    event_id: str
    filename: str
    spoof: SpoofOut
    quality: Quality


class CheckOut(BaseModel):
    event_id: str
    recognized: bool
    speaker: CandidateOut | None
    voice_similarity: float | None
    voice_probability: float | None
    behavior_match: float | None
    spoof_probability: float | None
    spoof: SpoofOut
    quality: Quality
    risk_score: float
    risk_level: str
    verdict: str
    reasons: list[str]
    alert_id: str | None
    candidates: list[CandidateOut]


class AlertOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    created_at: datetime
    status: AlertStatus
    level: str
    reason: str
    event_id: str | None
    speaker_id: str | None
    changed_by: str | None
    changed_at: datetime | None
    note: str | None


class AlertUpdate(BaseModel):
    status: AlertStatus
    note: str | None = Field(default=None, max_length=2000)


class AlertSummary(BaseModel):
    by_status: dict[str, int]
    by_level: dict[str, int]
    total: int


class EventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    created_at: datetime
    operation: str
    caller: str
    speaker_id: str | None
    scores: dict[str, Any]
    decision: str
    risk_score: float | None
    risk_level: str | None
    verdict: str | None
    audio: dict[str, Any]


class AuditOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    at: datetime
    actor: str
    action: str
    entity: str
    entity_id: str | None
    detail: dict[str, Any]


class ApiKeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    name: str
    prefix: str
    role: Role
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The secret; shown once, never stored in clear.")


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class TurnOut(BaseModel):
    start_s: float
    end_s: float
    speaker: str  # the cluster label, e.g. "S1"
    speaker_id: str | None  # the enrolled speaker the cluster was identified as
    display_name: str | None
    spoof_probability: float | None
    is_synthetic: bool | None
    overlap: bool  # shares time with another speaker's turn


class RiskOut(BaseModel):
    score: float
    level: str
    verdict: str
    reasons: list[str]

    @classmethod
    def of(cls, assessed: RiskAssessment) -> RiskOut:
        return cls(
            score=assessed.risk_score,
            level=str(assessed.risk_level),
            verdict=str(assessed.verdict),
            reasons=assessed.reasons,
        )


class SpeakerSummaryOut(BaseModel):
    speaker: str
    speaker_id: str | None
    display_name: str | None
    identified: bool
    voice_probability: float | None
    speech_s: float
    turns: int
    spoof_probability: float | None
    is_synthetic: bool | None
    risk: RiskOut
    quality: Quality
    candidates: list[CandidateOut]
    alert_id: str | None


class AnalyzeOut(BaseModel):
    event_id: str
    filename: str
    duration_s: float
    num_speakers: int
    turns: list[TurnOut]
    speakers: list[SpeakerSummaryOut]
    risk: RiskOut
    alert_ids: list[str]


class StreamTurnOut(BaseModel):
    start_s: float
    end_s: float
    speaker: str
    display_name: str | None


class StreamUpdateOut(BaseModel):
    """About once a second of a live call: who is speaking now and how risky it looks."""

    type: Literal["update"] = "update"
    t_s: float  # seconds of the call received
    speaker: str | None  # the live label of who is speaking now; None: nobody
    speaker_id: str | None
    display_name: str | None
    voice_probability: float | None
    spoof_probability: float | None  # of the last 4 s
    is_synthetic: bool | None
    risk: RiskOut
    turns: list[StreamTurnOut]
    compute_s: float  # how long this update took to compute
    bad_packets: int = 0  # Opus packets so far that could not be decoded (silence instead)


# --- labelled datasets for retraining -------------------------------------------------------


class DatasetLabel(StrEnum):
    BONAFIDE = "bonafide"
    SPOOF = "spoof"


class DatasetOut(BaseModel):
    id: str
    name: str
    source: Literal["files", "zip", "folder"]
    created_at: datetime
    created_by: str
    expires_at: datetime = Field(description="removed by the next purge after this")
    item_count: int
    by_label: dict[str, int] = Field(description="bonafide and spoof, both always present")
    by_system: dict[str, int] = Field(description="recordings with a system, per system")
    duration_s: float
    speech_s: float
    size_bytes: int = Field(description="of the recordings as uploaded (shared blobs counted)")


class DatasetPage(BaseModel):
    items: list[DatasetOut]
    total: int
    offset: int
    limit: int


class DatasetItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    path: str
    label: DatasetLabel
    system: str | None
    sha256: str
    size_bytes: int
    duration_s: float
    speech_s: float
    sample_rate: int
    channels: int
    codec: str


class DatasetDetail(DatasetOut):
    """A dataset with one page of its recordings (by path); ``item_count`` is their total."""

    items: list[DatasetItemOut]
    offset: int
    limit: int


class PurgeOut(BaseModel):
    retention_days: int
    cutoff: datetime = Field(description="datasets created before this were removed")
    datasets: list[str] = Field(description="ids of the datasets removed")
    blobs_removed: int
    orphans_removed: int = Field(description="blob files no dataset referenced")
