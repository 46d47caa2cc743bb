"""Everything loaded once per process (models, store) and shared by the API and the CLI."""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from voxguard.audio.analysis import AudioFrontEnd
from voxguard.config import DEFAULT_SECRET, Settings
from voxguard.errors import ModelUnavailable
from voxguard.risk import RiskPolicy
from voxguard.services.active_model import ActiveSpoof
from voxguard.services.engines import (
    Loaded,
    SpoofAdapter,
    load_speaker_engine,
    load_spoof_detector,
    require_speaker,
)
from voxguard.services.gallery import GalleryCache
from voxguard.services.ratelimit import RateLimiter
from voxguard.store.crypto import persisted_secret
from voxguard.store.setup import Store, open_store

if TYPE_CHECKING:
    # Imported on first use: it pulls in scikit-learn, a second of start-up for every
    # command and worker process that never diarizes.
    from voxguard.diarization.pipeline import Diarizer


@dataclass
class Runtime:
    settings: Settings
    store: Store
    front_end: AudioFrontEnd
    speaker: Loaded
    spoof: Loaded
    policy: RiskPolicy
    limiter: RateLimiter
    gallery: GalleryCache = field(default_factory=GalleryCache)
    _diarizer: Diarizer | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def diarizer(self) -> Diarizer:
        """The diarizer, built on first use around the speaker engine's GE2E encoder."""
        from voxguard.diarization.pipeline import Diarizer

        with self._lock:
            if self._diarizer is None:
                encoder = getattr(require_speaker(self.speaker), "encoder", None)
                if encoder is None:
                    raise ModelUnavailable(
                        "Diarization needs the GE2E speaker engine, which is not loaded."
                    )
                self._diarizer = Diarizer(self.settings, encoder=encoder, front_end=self.front_end)
            return self._diarizer

    def close(self) -> None:
        self.store.close()


def with_signing_secret(settings: Settings) -> Settings:
    """Never sign with a published default, even in development: keep one per data dir.
    (Resolved once before starting worker processes, so that they do not race to create it.)"""
    if not (settings.is_development and settings.jwt_secret == DEFAULT_SECRET):
        return settings
    secret = persisted_secret(settings.data_dir / "jwt.secret", lambda: secrets.token_urlsafe(48))
    return settings.model_copy(update={"jwt_secret": secret})


def build_runtime(
    settings: Settings, speaker: Loaded | None = None, spoof: Loaded | None = None
) -> Runtime:
    """Open the store (migrating it) and load the models; engines may be injected (tests)."""
    settings = with_signing_secret(settings)
    store = open_store(settings)
    if spoof is None:
        spoof = load_spoof_detector(settings)
        if isinstance(spoof.engine, SpoofAdapter):  # follows the registry's active version
            spoof = Loaded(ActiveSpoof(settings, store.sessions, spoof.engine))
    return Runtime(
        settings=settings,
        store=store,
        front_end=AudioFrontEnd(settings),
        speaker=speaker or load_speaker_engine(settings),
        spoof=spoof,
        policy=RiskPolicy.from_settings(settings, getattr(spoof.engine, "threshold", None)),
        limiter=RateLimiter(settings.rate_limit_per_minute / 60.0, settings.rate_limit_burst),
    )
