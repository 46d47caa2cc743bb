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
Building and writing take a lock in that folder (``store/locks.py``), so that of the workers
that start together, or that all find the file missing or stale, one builds and writes while
the others wait and then load what it wrote; a worker does not write a copy when another
process has already written one as new as its own.

The change log is pruned (``change_retention``): a worker whose version is older than the
oldest change kept cannot replay, sees the gap (versions have none otherwise) and builds.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from voxguard.errors import ModelMismatch
from voxguard.services.engines import SpeakerEngineLike
from voxguard.speaker.gallery import GallerySnapshot
from voxguard.speaker.index import INDEX_THRESHOLD
from voxguard.speaker.types import Voiceprint
from voxguard.store.crypto import VoiceprintCipher
from voxguard.store.gallery_changes import GalleryChangeRepository, GalleryState
from voxguard.store.locks import FileLock
from voxguard.store.sealed import (
    SealedFileError,
    read_sealed,
    read_sealed_header,
    temporary_files,
    write_sealed,
)
from voxguard.store.speakers import SpeakerRepository

log = logging.getLogger(__name__)

SAVE_EVERY = 1000
# How often (in versions) each process prunes the change log: one DELETE per this many changes.
PRUNE_EVERY = 1000
LOCK_NAME = "gallery.lock"
# Replaying more changes than this (or than half the gallery) costs more than a full build.
_MAX_REPLAY = 1000


class GalleryCache:
    """One gallery per process, shared by its threads.

    When the engine can build a searchable gallery (``engine.build_gallery``), that is what
    is kept; otherwise (test doubles) a dict of the decrypted voiceprints.
    ``change_retention``: changes kept in the store's log, at least (None: never pruned).
    """

    def __init__(
        self,
        directory: Path | None = None,
        index_threshold: int = INDEX_THRESHOLD,
        save_every: int = SAVE_EVERY,
        change_retention: int | None = None,
        prune_every: int = PRUNE_EVERY,
    ) -> None:
        self.directory = directory
        self.index_threshold = index_threshold
        self.save_every = save_every
        self.change_retention = change_retention
        self.prune_every = prune_every
        self._lock = threading.Lock()
        self._gallery: Any = None
        self._key: tuple[str, str] | None = None  # (model version, database epoch)
        self._version = 0
        self._unsaved: int | None = None  # changes since the persisted copy; None: no copy
        self._seen = -1  # version of the persisted file when last looked at (-1: none usable)
        self._pruned_at = 0

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
                with self._index_lock(wait=True):
                    state = changes.state()  # the wait for the lock may have taken minutes
                    self._start_over(engine, repo, changes, cipher, state)
            elif self._save_due():
                with self._index_lock(wait=False) as held:
                    if held:  # else another process is writing: try again on a later request
                        self._save_if_due(cipher)
            self._prune_if_due(changes, state)
            return self._gallery

    def _start_over(
        self,
        engine: SpeakerEngineLike,
        repo: SpeakerRepository,
        changes: GalleryChangeRepository,
        cipher: VoiceprintCipher,
        state: GalleryState,
    ) -> None:
        """With the index lock held: start from what another process saved while we waited
        for the lock, else build; then save."""
        if self._file_version(cipher) > self._seen:
            self._load(engine, cipher)
            if self._gallery is not None and not self._catch_up(
                engine, repo, changes, cipher, state
            ):
                self._gallery = None
        if self._gallery is None:
            self._build(engine, repo, cipher, state)
        if self._save_due():
            self._save_if_due(cipher)

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
        if pending[-1].version - self._version != len(pending):
            # Versions come without gaps (each is raised by the transaction that logs it), so
            # a gap is the log pruned past our version: only a full build sees every change.
            log.info("changes after version %d were pruned from the log", self._version)
            return False
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

    @contextmanager
    def _index_lock(self, wait: bool) -> Iterator[bool]:
        """Building and writing the persisted index, one process at a time per folder; yields
        whether it is held (with ``wait=False``, False while another process holds it)."""
        if self.directory is None:
            yield True
            return
        lock = FileLock(self.directory / LOCK_NAME)
        try:
            if not lock.acquire(wait=False) and wait:
                log.info("waiting for %s: another process is building or saving", lock.path)
                lock.acquire()
        except OSError as exc:  # e.g. a read-only folder: saving fails alike, and says so
            log.warning("gallery index lock %s not taken: %s", lock.path, exc)
        try:
            yield lock.held or wait
        finally:
            lock.release()

    def _file_version(self, cipher: VoiceprintCipher) -> int:
        """The version of the persisted file, read from its header; -1 when there is none of
        this database or it cannot be read."""
        path = self._path()
        if path is None or not path.is_file():
            return -1
        assert self._key is not None
        try:
            header = read_sealed_header(path, cipher)
            return int(header["version"]) if header.get("epoch") == self._key[1] else -1
        except (OSError, KeyError, TypeError, ValueError):  # SealedFileError is a ValueError
            return -1

    def _load(self, engine: SpeakerEngineLike, cipher: VoiceprintCipher) -> None:
        path, restore = self._path(), getattr(engine, "restore_gallery", None)
        self._seen = self._file_version(cipher)
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
        self._seen = self._version
        log.info(
            "gallery of %d voiceprints loaded at version %d", len(self._gallery), self._version
        )

    def _save_due(self) -> bool:
        snapshot = getattr(self._gallery, "snapshot", None)
        if self._path() is None or not callable(snapshot) or not self._gallery.approximate:
            return False
        due = max(self.save_every, len(self._gallery) // 20)
        return self._unsaved is None or self._unsaved >= due

    def _save_if_due(self, cipher: VoiceprintCipher) -> None:
        """With the index lock held."""
        path = self._path()
        assert path is not None and self._key is not None
        on_disk = self._file_version(cipher)
        if on_disk > self._seen:  # another process saved meanwhile: count from its copy
            self._seen, self._unsaved = on_disk, max(0, self._version - on_disk)
            if not self._save_due():
                return
        for stale in temporary_files(path):  # left by a writer killed half-way
            stale.unlink(missing_ok=True)
            log.info("removed %s, left by an unfinished save", stale)
        taken: GallerySnapshot = self._gallery.snapshot()
        header = {"epoch": self._key[1], "version": self._version, "gallery": taken.header}
        try:
            size = write_sealed(path, cipher, header, taken.arrays)
        except OSError as exc:  # the index still works; the next worker start rebuilds
            log.warning("gallery index not saved to %s: %s", path, exc)
            return
        self._seen, self._unsaved = self._version, 0
        log.info("gallery index saved at version %d (%d bytes)", self._version, size)

    # --- the change log -----------------------------------------------------------------

    def _prune_if_due(self, changes: GalleryChangeRepository, state: GalleryState) -> None:
        """Every ``prune_every`` versions: drop the changes older than the retention, and
        never one that the persisted copy this process knows still needs to be replayed."""
        if self.change_retention is None or state.version - self._pruned_at < self.prune_every:
            return
        through = state.version - self.change_retention
        if self._unsaved is not None:
            through = min(through, self._version - self._unsaved)
        if through > 0 and (removed := changes.prune(through)):
            log.info("gallery change log: %d changes up to version %d pruned", removed, through)
        self._pruned_at = state.version


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
