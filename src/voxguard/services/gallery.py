"""Each process's gallery of enrolled voiceprints, kept in step with the store.

Per identify request the cache reads the store's gallery version (one query,
``store/gallery_changes.py``). When it moved, the cache applies just the speakers changed
since its own version: their current voiceprints are read and decrypted, put in or taken out
of the gallery in place. So a speaker enrolled or deleted through any worker counts in every
other worker's next request. A full build (every voiceprint decrypted, every index built)
happens only when there is nothing to start from, when the store is another database, or
when more changed than rebuilding costs.

Above the exact-search threshold the gallery is persisted under ``<data dir>/index/``, sealed
with the voiceprint key (``store/sealed.py``): a (re)started worker loads it and replays the
changes made since it was written instead of rebuilding. It is written after a full build and
again once enough changes have piled up (``save_every``, or a twentieth of the gallery).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from voxguard.errors import ModelMismatch
from voxguard.services.engines import SpeakerEngineLike
from voxguard.speaker.gallery import GallerySnapshot
from voxguard.speaker.index import INDEX_THRESHOLD
from voxguard.speaker.types import Voiceprint
from voxguard.store.crypto import VoiceprintCipher
from voxguard.store.gallery_changes import GalleryChangeRepository, GalleryState
from voxguard.store.sealed import SealedFileError, read_sealed, write_sealed
from voxguard.store.speakers import SpeakerRepository

log = logging.getLogger(__name__)

SAVE_EVERY = 1000
# Replaying more changes than this (or than half the gallery) costs more than a full build.
_MAX_REPLAY = 1000


class GalleryCache:
    """One gallery per process, shared by its threads.

    When the engine can build a searchable gallery (``engine.build_gallery``), that is what
    is kept; otherwise (test doubles) a dict of the decrypted voiceprints.
    """

    def __init__(
        self,
        directory: Path | None = None,
        index_threshold: int = INDEX_THRESHOLD,
        save_every: int = SAVE_EVERY,
    ) -> None:
        self.directory = directory
        self.index_threshold = index_threshold
        self.save_every = save_every
        self._lock = threading.Lock()
        self._gallery: Any = None
        self._key: tuple[str, str] | None = None  # (model version, database epoch)
        self._version = 0
        self._unsaved: int | None = None  # changes since the persisted copy; None: no copy

    @property
    def version(self) -> int:
        """The store's gallery version this process's gallery reflects."""
        return self._version

    def get(
        self, engine: SpeakerEngineLike, repo: SpeakerRepository, cipher: VoiceprintCipher
    ) -> Any:
        changes = GalleryChangeRepository(repo.session)
        state = changes.state()
        key = (engine.model_version, state.epoch)
        with self._lock:
            if self._gallery is not None and self._key == key and self._version == state.version:
                return self._gallery
            if self._key != key:
                self._gallery, self._key = None, key
                self._load(engine, cipher)
            if self._gallery is not None and not self._catch_up(
                engine, repo, changes, cipher, state
            ):
                self._gallery = None
            if self._gallery is None:
                self._build(engine, repo, cipher, state)
            self._save_if_due(cipher)
            return self._gallery

    def _build(
        self,
        engine: SpeakerEngineLike,
        repo: SpeakerRepository,
        cipher: VoiceprintCipher,
        state: GalleryState,
    ) -> None:
        # The version is read before the voiceprints: what they show is at least that new,
        # and changes after it are applied again later, which is harmless.
        model = engine.model_version
        batches: Iterator[dict[str, Voiceprint]] = (
            {speaker_id: Voiceprint.from_bytes(cipher.decrypt(token)) for speaker_id, token in b}
            for b in repo.gallery_batches(model)
        )
        build = getattr(engine, "build_gallery", None)
        if callable(build):
            self._gallery = build(batches, self.index_threshold)
        else:
            self._gallery = {k: v for batch in batches for k, v in batch.items()}
        self._version, self._unsaved = state.version, None
        log.info("gallery of %d voiceprints built at version %d", len(self._gallery), state.version)

    def _catch_up(
        self,
        engine: SpeakerEngineLike,
        repo: SpeakerRepository,
        changes: GalleryChangeRepository,
        cipher: VoiceprintCipher,
        state: GalleryState,
    ) -> bool:
        """Apply the changes after our version; False when a full build is the way: more
        changed than a build costs, or the log does not lead from our version to the store's
        (a database restored to an older state)."""
        if self._version > state.version:
            return False
        limit = max(_MAX_REPLAY, len(self._gallery) // 2)
        pending = changes.since(self._version, limit=limit + 1)
        if not pending or len(pending) > limit:
            return not pending and self._version == state.version
        ids = list(dict.fromkeys(change.speaker_id for change in pending))
        tokens = repo.voiceprints_of(ids, engine.model_version)
        current = {i: Voiceprint.from_bytes(cipher.decrypt(tokens[i])) for i in ids if i in tokens}
        gone = [i for i in ids if i not in tokens]
        self._gallery = _apply(self._gallery, current, gone)
        self._version = pending[-1].version
        if self._unsaved is not None:
            self._unsaved += len(pending)
        return True

    # --- persistence --------------------------------------------------------------------

    def _path(self) -> Path | None:
        if self.directory is None or self._key is None:
            return None
        model = re.sub(r"[^A-Za-z0-9._-]", "_", self._key[0])
        return self.directory / f"gallery-{model}.sealed"

    def _load(self, engine: SpeakerEngineLike, cipher: VoiceprintCipher) -> None:
        path, restore = self._path(), getattr(engine, "restore_gallery", None)
        if path is None or not callable(restore) or not path.is_file():
            return
        assert self._key is not None
        try:
            header, arrays = read_sealed(path, cipher)
            if header.get("epoch") != self._key[1]:
                log.info("%s belongs to another database; not used", path)
                return
            snapshot = GallerySnapshot(header["gallery"], arrays)
            self._gallery = restore(snapshot, self.index_threshold)
        except (OSError, SealedFileError, ModelMismatch, KeyError, ValueError) as exc:
            log.warning("gallery index %s not loaded (%s); rebuilding", path, exc)
            return
        self._version, self._unsaved = int(header["version"]), 0
        log.info(
            "gallery of %d voiceprints loaded at version %d", len(self._gallery), self._version
        )

    def _save_if_due(self, cipher: VoiceprintCipher) -> None:
        path = self._path()
        snapshot = getattr(self._gallery, "snapshot", None)
        if path is None or not callable(snapshot) or not self._gallery.approximate:
            return
        due = max(self.save_every, len(self._gallery) // 20)
        if self._unsaved is not None and self._unsaved < due:
            return
        taken: GallerySnapshot = snapshot()
        assert self._key is not None
        header = {"epoch": self._key[1], "version": self._version, "gallery": taken.header}
        try:
            size = write_sealed(path, cipher, header, taken.arrays)
        except OSError as exc:  # the index still works; the next worker start rebuilds
            log.warning("gallery index not saved to %s: %s", path, exc)
            return
        self._unsaved = 0
        log.info("gallery index saved at version %d (%d bytes)", self._version, size)


def _apply(gallery: Any, current: Mapping[str, Voiceprint], gone: list[str]) -> Any:
    """``gallery`` with ``current`` put in and ``gone`` taken out."""
    if isinstance(gallery, dict):  # a fresh dict: a reader may be iterating the old one
        removed = set(gone)
        updated = {k: v for k, v in gallery.items() if k not in removed}
        updated.update(current)
        return updated
    gallery.upsert(current)
    gallery.remove(gone)
    return gallery
