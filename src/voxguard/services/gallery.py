"""The decrypted gallery of enrolled voiceprints, rebuilt only when the store changed."""

from __future__ import annotations

import threading
from typing import Any

from voxguard.services.engines import SpeakerEngineLike
from voxguard.speaker.types import Voiceprint
from voxguard.store.crypto import VoiceprintCipher
from voxguard.store.speakers import SpeakerRepository


class GalleryCache:
    """One gallery per process; identification reuses it until a voiceprint changes.

    When the engine can build a searchable gallery (``engine.gallery``), that is what is
    cached; otherwise the decrypted voiceprints themselves.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stamp: tuple[str, int, str] | None = None
        self._gallery: Any = None

    def get(
        self, engine: SpeakerEngineLike, repo: SpeakerRepository, cipher: VoiceprintCipher
    ) -> Any:
        version = engine.model_version
        stamp = (version, *repo.gallery_stamp(version))
        with self._lock:
            if stamp == self._stamp:
                return self._gallery
        voiceprints = {
            speaker_id: Voiceprint.from_bytes(cipher.decrypt(token))
            for speaker_id, token in repo.gallery(version)
        }
        build = getattr(engine, "gallery", None)
        gallery = build(voiceprints) if callable(build) and voiceprints else voiceprints
        with self._lock:
            self._stamp, self._gallery = stamp, gallery
        return gallery
