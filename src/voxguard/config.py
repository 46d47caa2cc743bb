"""The one Settings object. Every knob reads from the environment with the prefix ``VOXGUARD_``.

Defaults run with nothing configured: a SQLite file under ``data_dir`` and the models bundled
inside the package.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_data_dir() -> Path:
    return Path.home() / ".local" / "share" / "voxguard"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VOXGUARD_", env_file=None, extra="ignore")

    environment: str = Field(default="development", description="development | production")
    data_dir: Path = Field(default_factory=_default_data_dir)

    # Audio input limits, checked before anything is decoded in full.
    max_upload_mb: float = Field(default=50.0, gt=0)
    max_duration_s: float = Field(default=600.0, gt=0)

    # Quality gates used by enrollment and verification.
    min_speech_s: float = Field(default=1.0, ge=0, description="below this: TOO_SHORT")
    min_embed_speech_s: float = Field(default=0.5, ge=0, description="refuse to embed below this")
    clipping_warn_ratio: float = Field(default=0.01, ge=0, le=1)
    min_snr_db: float = Field(default=10.0)
    narrowband_hz: float = Field(default=5000.0, description="effective bandwidth below this (Hz)")
    vad_threshold: float = Field(default=0.5, gt=0, lt=1)

    # Speaker verification operating point: the threshold is picked from this target FAR.
    target_far: float = Field(default=0.01, gt=0, lt=1)
    identify_top_k: int = Field(default=5, ge=1, le=100)

    # Threads for onnxruntime sessions; 1 keeps latency predictable on shared machines.
    inference_threads: int = Field(default=1, ge=1)

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
