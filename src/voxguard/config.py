"""The one Settings object. Every knob reads from the environment with the prefix ``VOXGUARD_``.

Defaults run with nothing configured: a SQLite file under ``data_dir`` and the models bundled
inside the package.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET = "changethis"


def _default_data_dir() -> Path:
    return Path.home() / ".local" / "share" / "voxguard"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VOXGUARD_", env_file=None, extra="ignore")

    environment: str = Field(default="development", description="development | production")
    data_dir: Path = Field(default_factory=_default_data_dir)

    # Audio input limits, checked before anything is decoded in full.
    max_upload_mb: float = Field(default=50.0, gt=0)
    max_duration_s: float = Field(default=600.0, gt=0)
    # A batch .zip: all its members together, uncompressed (each also within max_upload_mb).
    max_archive_mb: float = Field(default=2048.0, gt=0)

    # Quality gates used by enrollment and verification.
    min_speech_s: float = Field(default=1.0, ge=0, description="below this: TOO_SHORT")
    min_embed_speech_s: float = Field(default=0.5, ge=0, description="refuse to embed below this")
    clipping_warn_ratio: float = Field(default=0.01, ge=0, le=1)
    min_snr_db: float = Field(default=10.0)
    narrowband_hz: float = Field(default=5000.0, description="effective bandwidth below this (Hz)")
    vad_threshold: float = Field(default=0.5, gt=0, lt=1)

    # The speaker model voiceprints are made and scored with (a bundled encoder and the back end
    # fitted on it). Voiceprints of another model are stale until re-embedded or re-enrolled.
    # "campplus" since 2026-12-07 (docs/speaker-experiments/2026-12-07-campplus-engine.md);
    # "ge2e" is about three times faster per embedding and keeps GE2E voiceprints valid.
    speaker_model: Literal["campplus", "ge2e"] = Field(
        default="campplus", description="speaker encoder: campplus | ge2e"
    )
    # Speaker verification operating point: the threshold is picked from this target FAR.
    target_far: float = Field(default=0.01, gt=0, lt=1)
    identify_top_k: int = Field(default=5, ge=1, le=100)
    # The gallery change log (each enrollment and deletion, issue 22) keeps at least this many
    # newest changes; a worker further behind than that rebuilds its 1:N index instead of
    # replaying. Keep it above the changes between two saves of the persisted index (1,000,
    # or a twentieth of the gallery), or a restarted worker cannot start from its saved copy.
    gallery_change_retention: int = Field(
        default=100_000, ge=1000, description="newest gallery changes kept in the change log"
    )

    # Threads for onnxruntime sessions; 1 keeps latency predictable on shared machines.
    inference_threads: int = Field(default=1, ge=1)
    # Threads of numpy's BLAS in a process that loads the models (voxguard.blas); 0 leaves
    # the library's own choice (one per core, or OPENBLAS_NUM_THREADS / OMP_NUM_THREADS).
    blas_threads: int = Field(default=1, ge=0)
    # Seconds between malloc_trim(0) calls in API and job workers (voxguard.malloc), which
    # give the pages that finished requests freed back to the system; 0 = never. Off by
    # default: it did not lower a worker's peak under load (docs/performance-history).
    malloc_trim_s: float = Field(default=0.0, ge=0)

    # --- service (issue 4): storage, API, auth, risk -----------------------------------------
    # Unset: a SQLite file ``voxguard.db`` in ``data_dir``. PostgreSQL:
    # ``postgresql+psycopg://user:pass@host/db``.
    database_url: str | None = None
    # Fernet key (urlsafe base64, 32 bytes) encrypting voiceprints at rest. Unset in development:
    # a key file is created once in ``data_dir``; outside development it must be set.
    encryption_key: str | None = None
    jwt_secret: str = Field(default=DEFAULT_SECRET, description="HS256 secret for access tokens")
    jwt_ttl_s: int = Field(default=900, ge=30, le=86400)
    cors_origins: list[str] = Field(default_factory=list)
    rate_limit_per_minute: int = Field(default=600, ge=1)
    rate_limit_burst: int = Field(default=60, ge=1)
    store_raw_audio: bool = Field(default=False, description="keep uploaded audio with events")
    max_batch_files: int = Field(default=10, ge=1, le=100)
    max_enroll_files: int = Field(default=10, ge=1, le=100)
    # Whole request body (all files of a batch together), cut off while it streams in.
    max_request_mb: float = Field(default=200.0, gt=0)
    # Load shedding for the work requests (POST /v1/...): at most this many run at once per
    # worker process, at most ``max_queued_requests`` wait, each at most ``queue_timeout_s``;
    # beyond that the answer is 503 with Retry-After, so accepted requests keep a bounded
    # latency instead of all of them timing out. 2 and 8: at twice the sustainable rate the
    # accepted checks keep p99 under 1 s (4 and 8: 1.7 s) at the same throughput, and a steady
    # 15 checks/s sheds nothing (2 and 4: 0.3%) (docs/performance.md, Overload).
    max_active_requests: int = Field(default=2, ge=1)
    max_queued_requests: int = Field(default=8, ge=0)
    queue_timeout_s: float = Field(default=10.0, gt=0)
    api_host: str = "127.0.0.1"
    # Logs of `voxguard serve` and `voxguard worker` (voxguard.logs), on stderr: ``json``, one
    # JSON object per line with the request id, for a log shipper; ``console``, readable
    # lines for a terminal. Secrets are redacted in both.
    log_format: Literal["json", "console"] = "json"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    api_port: int = Field(default=8000, ge=1, le=65535)

    # Labelled datasets for retraining (the one place raw audio is kept, under data_dir).
    dataset_retention_days: int = Field(
        default=365, ge=1, description="`voxguard datasets purge` removes older datasets"
    )
    max_dataset_files: int = Field(default=5000, ge=1, description="recordings per dataset")
    # All the recordings of one dataset together (each also within max_upload_mb). Over the
    # API a dataset also fits in max_request_mb (one request body).
    max_dataset_mb: float = Field(default=2048.0, gt=0)
    dataset_min_duration_s: float = Field(default=0.5, ge=0, description="shorter: refused")

    # Speaker enrollment recordings (opt-in). Off: a recording makes the voiceprint and is
    # dropped. On: each one is kept Fernet-encrypted (the voiceprint key) under
    # ``speaker_samples_dir`` for as long as its speaker exists, so that a new speaker model
    # can re-embed the speaker (the ``reembed`` job) instead of asking them to enroll again.
    keep_enrollment_audio: bool = Field(
        default=False, description="keep enrollment recordings, encrypted, to re-embed later"
    )

    # Risk fusion (voxguard.risk): weights of each risk component and the level bands.
    risk_weight_voice: float = Field(default=0.35, ge=0)
    risk_weight_behavior: float = Field(default=0.15, ge=0)
    risk_weight_spoof: float = Field(default=0.4, ge=0)
    risk_weight_quality: float = Field(default=0.1, ge=0)
    risk_medium: float = Field(default=0.35, gt=0, lt=1, description="risk_score >= -> MEDIUM")
    risk_high: float = Field(default=0.65, gt=0, lt=1, description="risk_score >= -> HIGH")
    spoof_threshold: float = Field(
        default=0.5,
        gt=0,
        lt=1,
        description="P(synthetic) flagged, on every channel; unset, the detector's own "
        "threshold for each channel is used",
    )
    spoof_classical_head: bool = Field(
        default=False,
        description="use the spoof model's classical-TTS head (espeak-ng, Flite, Festival, "
        "Pico); off by default: it also flags most electrolaryngeal speech "
        "(docs/models/experiments/2026-12-06-classical-tts-head-v2.md)",
    )
    poor_quality_below: float = Field(default=0.3, ge=0, le=1)
    behavior_mismatch_below: float = Field(default=0.35, ge=0, le=1)
    impersonation_near_match: float = Field(
        default=0.2, ge=0, le=1, description="unmatched, but P(same) of the closest >= this"
    )

    # --- background jobs (issue 21) -------------------------------------------------------
    # Unset: an embedded queue (SqliteHuey, ``jobs.db`` in ``data_dir``) whose consumers
    # ``voxguard serve`` starts. ``redis://host:6379/0``: a Redis queue, consumed by
    # ``voxguard serve`` and by ``voxguard worker`` on any machine.
    queue_url: str | None = None
    # Also the namespace of this deployment's other keys in Redis (rate limits).
    queue_name: str = Field(default="voxguard", min_length=1, max_length=100, pattern=r"^[\w.-]+$")
    # Redis shared by every API process (rate limits, issue 22). Unset: VOXGUARD_QUEUE_URL
    # (a Redis URL when set); neither set: each process keeps its own rate-limit buckets.
    redis_url: str | None = None
    job_workers: int = Field(
        default=1, ge=0, le=64, description="job workers `voxguard serve` runs (0: none)"
    )
    max_job_files: int = Field(default=1000, ge=1, le=100_000)
    job_max_attempts: int = Field(
        default=3, ge=1, le=20, description="runs of a job whose worker died, at most"
    )
    job_stale_s: float = Field(
        default=300.0, ge=10, description="a running job not heard from this long is orphaned"
    )
    keep_job_inputs: bool = Field(default=False, description="keep a job's files once it ends")
    # Housekeeping (`voxguard admin prune`, POST /v1/admin/prune): what is older than these
    # may go; --older-than / older_than_days overrides both for one run.
    job_retention_days: int = Field(
        default=30,
        ge=1,
        description="prune deletes the files (results, kept inputs) of jobs finished longer ago",
    )
    model_retention_days: int = Field(
        default=30,
        ge=1,
        description="prune deletes the files of registered models neither served, nor the "
        "rollback target, created or last promoted longer ago",
    )
    # Unset: ``jobs/`` in ``data_dir``. Workers on other machines need it shared (a volume).
    jobs_dir: Path | None = None
    # The id of a stored dataset kept as the fixed regression set: every retrained candidate
    # and its parent are scored on it (its recordings are left out of training). Unset: the
    # held-out split of the uploaded data is the only evaluation, and the metrics say so.
    regression_dataset: str | None = None
    retrain_workers: int = Field(
        default=0,
        ge=0,
        description="threads that featurise recordings in a retrain job; 0: one per CPU core",
    )
    promote_tolerance: float = Field(
        default=0.01,
        ge=0,
        le=1,
        description="a candidate whose EER exceeds the active model's on the same recordings "
        "by more than this is not promoted (unless forced)",
    )
    model_check_s: float = Field(
        default=5.0,
        ge=0,
        le=3600,
        description="how often each server and worker looks for a newly promoted model",
    )

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    @property
    def max_archive_bytes(self) -> int:
        return int(self.max_archive_mb * 1024 * 1024)

    @property
    def max_dataset_bytes(self) -> int:
        return int(self.max_dataset_mb * 1024 * 1024)

    @property
    def datasets_dir(self) -> Path:
        return self.data_dir / "datasets"

    @property
    def speaker_samples_dir(self) -> Path:
        """Kept enrollment recordings (VOXGUARD_KEEP_ENROLLMENT_AUDIO), encrypted."""
        return self.data_dir / "speaker-samples"

    @property
    def models_dir(self) -> Path:
        """Registered models: ``<kind>/<version>/`` with the ONNX file and its sidecar."""
        return self.data_dir / "models"

    @property
    def resolved_jobs_dir(self) -> Path:
        return self.jobs_dir or self.data_dir / "jobs"

    @property
    def job_queue_file(self) -> Path:
        """The embedded queue's SQLite file (when VOXGUARD_QUEUE_URL is unset)."""
        return self.data_dir / "jobs.db"

    @property
    def resolved_redis_url(self) -> str | None:
        return self.redis_url or self.queue_url

    @property
    def is_development(self) -> bool:
        return self.environment == "development"

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'voxguard.db'}"

    def spoof_threshold_for(self, model_threshold: float) -> float:
        """VOXGUARD_SPOOF_THRESHOLD when it is set, else the spoof model's own calibrated
        threshold: detector verdicts and the risk rule resolve it the same way."""
        return (
            self.spoof_threshold if "spoof_threshold" in self.model_fields_set else model_threshold
        )

    @model_validator(mode="after")
    def _refuse_default_secrets(self) -> Settings:
        if not self.is_development:
            if self.jwt_secret == DEFAULT_SECRET:
                raise ValueError("VOXGUARD_JWT_SECRET must be set outside development")
            if not self.encryption_key:
                raise ValueError("VOXGUARD_ENCRYPTION_KEY must be set outside development")
        if self.queue_url and not self.queue_url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError(
                "VOXGUARD_QUEUE_URL must be a Redis URL (redis://, rediss:// or unix://); "
                "unset, jobs use the embedded queue in the data dir"
            )
        if self.redis_url and not self.redis_url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError(
                "VOXGUARD_REDIS_URL must be a Redis URL (redis://, rediss:// or unix://)"
            )
        if self.risk_medium >= self.risk_high:
            raise ValueError("VOXGUARD_RISK_MEDIUM must be below VOXGUARD_RISK_HIGH")
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
