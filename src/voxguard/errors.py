"""One typed error hierarchy.

Each error carries a stable machine-readable ``code``, the HTTP status it maps to and the CLI
exit code it maps to; the API's single exception handler and the CLI's single error boundary
read these attributes and nothing else.
"""

from __future__ import annotations

from typing import Any, ClassVar

ACCEPTED_FORMATS = (
    "WAV (PCM 8/16/24/32-bit or float)",
    "FLAC",
    "MP3",
    "OGG (Vorbis or Opus)",
    "OPUS",
    "WEBM",
    "M4A/MP4 (AAC)",
    "AAC (ADTS)",
)
ACCEPTED_FORMATS_TEXT = ", ".join(ACCEPTED_FORMATS)


class VoxGuardError(Exception):
    """Base of every error VoxGuard raises on purpose."""

    code: ClassVar[str] = "voxguard_error"
    http_status: ClassVar[int] = 500
    exit_code: ClassVar[int] = 1

    def __init__(self, message: str, **detail: Any) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail

    def to_dict(self) -> dict[str, Any]:
        return {"error": self.message, "detail": self.detail, "code": self.code}


class InvalidInput(VoxGuardError):
    code = "invalid_input"
    http_status = 422
    exit_code = 2


# --- audio --------------------------------------------------------------------------------


class AudioError(InvalidInput):
    code = "audio_error"


class AudioDecodeError(AudioError):
    code = "audio_decode_error"


class NoAudioFiles(AudioError):
    code = "no_audio_files"


class UnsupportedAudioFormat(AudioError):
    code = "unsupported_audio_format"
    http_status = 415


class AudioTooLarge(AudioError):
    code = "audio_too_large"
    http_status = 413


class AudioTooLong(AudioError):
    code = "audio_too_long"
    http_status = 413


class SampleRateTooLow(AudioError):
    code = "sample_rate_too_low"


class AudioTooShort(AudioError):
    code = "audio_too_short"


class NoSpeechDetected(AudioError):
    code = "no_speech"


class PoorAudioQuality(AudioError):
    code = "poor_audio_quality"


# --- batch input: a .zip of recordings ------------------------------------------------------


class InvalidArchive(InvalidInput):
    """A .zip that cannot be read as one."""

    code = "invalid_archive"


class UnsafeArchive(InvalidArchive):
    """Member names that would escape the folder (absolute, ``..``): the archive is refused."""

    code = "unsafe_archive"


class ArchiveTooLarge(InvalidArchive):
    """More uncompressed data than VOXGUARD_MAX_ARCHIVE_MB: a zip bomb, or too much at once."""

    code = "archive_too_large"
    http_status = 413


# --- labelled datasets for retraining ------------------------------------------------------


class InvalidDataset(InvalidInput):
    """A dataset upload that cannot be stored as given; nothing of it is kept."""

    code = "invalid_dataset"


class InvalidLabels(InvalidDataset):
    """Labels missing, unknown or not matching the recordings (CSV rows, form fields)."""

    code = "invalid_labels"


class SingleClassDataset(InvalidDataset):
    """Only bona fide or only spoofed recordings: a detector cannot learn from one class."""

    code = "single_class_dataset"


class DuplicateRecording(InvalidDataset):
    """The same recording (same SHA-256) twice in one upload."""

    code = "duplicate_recording"


class DatasetTooLarge(InvalidDataset):
    """More files than VOXGUARD_MAX_DATASET_FILES or bytes than VOXGUARD_MAX_DATASET_MB."""

    code = "dataset_too_large"
    http_status = 413


# --- privacy mode: features instead of audio ----------------------------------------------


class InvalidFeatures(InvalidInput):
    """A feature payload of the wrong shape, configuration or values."""

    code = "invalid_features"


class FeaturesTooLong(InvalidFeatures):
    code = "features_too_long"
    http_status = 413


# --- domain -------------------------------------------------------------------------------


class NotFound(VoxGuardError):
    code = "not_found"
    http_status = 404
    exit_code = 4


class SpeakerNotFound(NotFound):
    code = "speaker_not_found"


class Conflict(VoxGuardError):
    code = "conflict"
    http_status = 409
    exit_code = 5


class ModelUnavailable(VoxGuardError):
    code = "model_unavailable"
    http_status = 503
    exit_code = 6


class ModelMismatch(ModelUnavailable):
    """A model file does not match its sidecar, or stored data was made by another model."""

    code = "model_mismatch"


class ConfigurationError(VoxGuardError):
    code = "configuration_error"
    exit_code = 7


# --- access -------------------------------------------------------------------------------


class AuthenticationRequired(VoxGuardError):
    code = "authentication_required"
    http_status = 401
    exit_code = 8


class PermissionDenied(VoxGuardError):
    code = "permission_denied"
    http_status = 403
    exit_code = 8


class RateLimited(VoxGuardError):
    code = "rate_limited"
    http_status = 429
    exit_code = 9


class ServerBusy(VoxGuardError):
    """More work offered than the server can take now: try again after ``retry_after_s``."""

    code = "server_busy"
    http_status = 503
    exit_code = 9


# --- service (issue 4) --------------------------------------------------------------------


class AlertNotFound(NotFound):
    code = "alert_not_found"


class DatasetNotFound(NotFound):
    code = "dataset_not_found"


class EventNotFound(NotFound):
    code = "event_not_found"


class ApiKeyNotFound(NotFound):
    code = "api_key_not_found"


class InvalidTransition(Conflict):
    code = "invalid_transition"


class EncryptionKeyMismatch(ConfigurationError):
    """Stored voiceprints were encrypted with another key than the configured one."""

    code = "encryption_key_mismatch"


class RequestTooLarge(InvalidInput):
    code = "request_too_large"
    http_status = 413


class InvalidCredentials(AuthenticationRequired):
    code = "invalid_credentials"


# --- evaluation ---------------------------------------------------------------------------


class InvalidManifest(InvalidInput):
    """An evaluation manifest with missing columns or files, or a reference it cannot read."""

    code = "invalid_manifest"


# --- background jobs (issue 21) -----------------------------------------------------------


class JobNotFound(NotFound):
    code = "job_not_found"


class JobNotFinished(Conflict):
    """Results asked for while the job is still queued or running."""

    code = "job_not_finished"


class QueueUnavailable(VoxGuardError):
    """The job queue (the embedded SQLite file or Redis) cannot be reached."""

    code = "queue_unavailable"
    http_status = 503
    exit_code = 6


class ModelVersionNotFound(NotFound):
    code = "model_version_not_found"


class PromotionRefused(Conflict):
    """The candidate measured worse than the active model on the same recordings, or it
    cannot be compared with it; ``force`` overrides."""

    code = "promotion_refused"


class ModelVersionPruned(Conflict):
    """A registered model whose files housekeeping deleted: it cannot be served or trained
    from again (its row stays, with its metrics)."""

    code = "model_version_pruned"


class JobResultsPruned(NotFound):
    """A finished job whose results file housekeeping deleted (its record and summary stay)."""

    code = "job_results_pruned"
    http_status = 410


class PruneRefused(Conflict):
    """Housekeeping asked to delete what is still in use (kept enrollment audio while it is
    being kept, or while a re-embedding job needs it)."""

    code = "prune_refused"


class SampleUnreadable(VoxGuardError):
    """A kept enrollment recording's file is missing or does not match its row (the speaker
    cannot be re-embedded from it)."""

    code = "sample_unreadable"
