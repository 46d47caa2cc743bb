"""Everything loaded once per process (models, store) and shared by the API and the CLI."""

from __future__ import annotations

import base64
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

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
from voxguard.services.ratelimit import Limiter, build_limiter
from voxguard.store.crypto import resolve_key
from voxguard.store.db import unit_of_work
from voxguard.store.setup import Store, open_store
from voxguard.store.speakers import SpeakerRepository

if TYPE_CHECKING:
    # Imported on first use: it pulls in scikit-learn, a second of start-up for every
    # command and worker process that never diarizes.
    from voxguard.diarization.pipeline import Diarizer

# Domain separation: the token secret derived from the voiceprint key is used for nothing else.
_JWT_INFO = b"voxguard access-token secret v1"


@dataclass
class Runtime:
    settings: Settings
    store: Store
    front_end: AudioFrontEnd
    speaker: Loaded
    spoof: Loaded
    policy: RiskPolicy
    limiter: Limiter
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

    def warm_gallery(self) -> None:
        """Load (or build) the identification gallery now instead of on the first request."""
        if not self.speaker.available:
            return
        with unit_of_work(self.store.sessions) as session:
            self.gallery.get(self.speaker.engine, SpeakerRepository(session), self.store.cipher)

    def close(self) -> None:
        self.limiter.close()
        self.store.close()


def with_signing_secret(settings: Settings) -> Settings:
    """Never sign with a published default, even in development: derive the token secret from
    the voiceprint key. Every process on one database must hold that key (the store checks it
    at start), so processes with different data dirs still accept each other's tokens.
    (Resolved once before starting worker processes, so that they do not race to create the
    key file.)"""
    if not (settings.is_development and settings.jwt_secret == DEFAULT_SECRET):
        return settings
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_JWT_INFO).derive(
        resolve_key(settings).encode()
    )
    return settings.model_copy(update={"jwt_secret": base64.urlsafe_b64encode(derived).decode()})


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
        limiter=build_limiter(settings),
        gallery=GalleryCache(
            settings.data_dir / "index", change_retention=settings.gallery_change_retention
        ),
    )
