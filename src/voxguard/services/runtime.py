"""Everything loaded once per process (models, store) and shared by the API and the CLI."""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from voxguard.audio.analysis import AudioFrontEnd
from voxguard.blas import limit_blas_threads
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
from voxguard.services.ratelimit import Limiter, build_limiter
from voxguard.store.crypto import resolve_key
from voxguard.store.db import unit_of_work
from voxguard.store.setup import Store, open_store
from voxguard.store.speakers import SpeakerRepository

if TYPE_CHECKING:
    # Imported on first use: it pulls in scikit-learn, a second of start-up for every
    # command and worker process that never diarizes.
    from voxguard.diarization.pipeline import Diarizer
    from voxguard.services.gallery import GalleryCache

# Domain separation: the token secret derived from the voiceprint key is used for nothing else.
_JWT_INFO = b"voxguard access-token secret v1"


@dataclass(frozen=True)
class Models:
    """What a process loads to serve: the audio front end (VAD), both engines, the policy."""

    front_end: AudioFrontEnd
    speaker: Loaded
    spoof: Loaded
    policy: RiskPolicy


@dataclass
class Runtime:
    """The store, the limiter and the models of one process. The models load at most once,
    on ``build_runtime`` or, in a process that may never need them (a job worker waiting
    for jobs), on first use."""

    settings: Settings
    store: Store
    limiter: Limiter
    gallery: GalleryCache
    _load: Callable[[], Models] = field(repr=False)
    _models: Models | None = field(default=None, init=False, repr=False)
    _diarizer: Diarizer | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @property
    def models_loaded(self) -> bool:
        return self._models is not None

    def models(self) -> Models:
        models = self._models
        if models is None:
            with self._lock:
                if self._models is None:
                    self._models = self._load()
                models = self._models
        return models

    @property
    def front_end(self) -> AudioFrontEnd:
        return self.models().front_end

    @property
    def speaker(self) -> Loaded:
        return self.models().speaker

    @property
    def spoof(self) -> Loaded:
        return self.models().spoof

    @property
    def policy(self) -> RiskPolicy:
        return self.models().policy

    def diarizer(self) -> Diarizer:
        """The diarizer, built on first use; it shares the speaker engine's encoder (GE2E for
        its frame scores, or CAM++ for its clustering) rather than load it twice."""
        from voxguard.diarization.pipeline import Diarizer
        from voxguard.speaker.campplus import CamppEncoder
        from voxguard.speaker.encoder import Ge2eEncoder

        speaker, front_end = self.speaker, self.front_end
        with self._lock:
            if self._diarizer is None:
                encoder = getattr(require_speaker(speaker), "encoder", None)
                if encoder is None:
                    raise ModelUnavailable(
                        "Diarization needs the speaker engine, which is not loaded."
                    )
                self._diarizer = Diarizer(
                    self.settings,
                    encoder=encoder if isinstance(encoder, Ge2eEncoder) else None,
                    campplus=encoder if isinstance(encoder, CamppEncoder) else None,
                    front_end=front_end,
                )
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
    settings: Settings,
    speaker: Loaded | None = None,
    spoof: Loaded | None = None,
    *,
    lazy: bool = False,
) -> Runtime:
    """Open the store (migrating it) and load the models, now or, with ``lazy``, on first
    use; engines may be injected (tests)."""
    from voxguard.services.gallery import GalleryCache  # faiss: only where models load

    settings = with_signing_secret(settings)
    store = open_store(settings)
    runtime = Runtime(
        settings=settings,
        store=store,
        limiter=build_limiter(settings),
        gallery=GalleryCache(
            settings.data_dir / "index", change_retention=settings.gallery_change_retention
        ),
        _load=partial(_load_models, settings, store, speaker, spoof),
    )
    if not lazy:
        try:
            runtime.models()
        except BaseException:
            runtime.close()
            raise
    return runtime


def _load_models(
    settings: Settings, store: Store, speaker: Loaded | None, spoof: Loaded | None
) -> Models:
    front_end = AudioFrontEnd(settings)
    if spoof is None:
        spoof = load_spoof_detector(settings, vad=front_end.detector)  # one VAD session
        if isinstance(spoof.engine, SpoofAdapter):  # follows the registry's active version
            spoof = Loaded(ActiveSpoof(settings, store.sessions, spoof.engine))
    models = Models(
        front_end=front_end,
        speaker=speaker or load_speaker_engine(settings),
        spoof=spoof,
        policy=RiskPolicy.from_settings(settings, getattr(spoof.engine, "threshold", None)),
    )
    # Once the libraries the models use are loaded (VOXGUARD_BLAS_THREADS, default 1).
    limit_blas_threads(settings.blas_threads)
    return models
