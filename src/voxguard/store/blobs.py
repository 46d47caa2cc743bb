"""Content-addressed files: ``<root>/blobs/<sha256[:2]>/<sha256>`` holds the original bytes.

A new upload writes into its own staging folder under ``<root>/tmp`` (same file system, so
publishing is a rename) and publishes only once everything was checked and its rows were
written; the staging folder goes whatever happens. A blob already present is not written
again: identical recordings are stored once, whichever datasets use them.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.blobs = root / "blobs"
        self.tmp = root / "tmp"

    def path(self, sha256: str) -> Path:
        return self.blobs / sha256[:2] / sha256

    @contextmanager
    def staging(self) -> Iterator[Staging]:
        """A staging folder for one upload, removed on leaving (published blobs moved out)."""
        folder = self.tmp / uuid.uuid4().hex
        folder.mkdir(parents=True, mode=0o700)
        try:
            yield Staging(self, folder)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def remove(self, hashes: Iterable[str]) -> int:
        """Remove blob files; one that cannot be removed is logged and left to a sweep (no
        row refers to it any more), so that a committed deletion never fails afterwards."""
        removed = 0
        for sha256 in hashes:
            try:
                self.path(sha256).unlink()
                removed += 1
            except FileNotFoundError:
                pass
            except OSError as exc:
                log.warning("could not remove blob %s in %s: %s", sha256, self.blobs, exc)
        return removed

    def size(self, sha256: str) -> int:
        """The blob file's size in bytes; 0 when it is not there."""
        try:
            return self.path(sha256).stat().st_size
        except OSError:
            return 0

    def orphans(self, known: Callable[[str], bool], older_than_s: float) -> list[Path]:
        """Blob files that ``known`` does not vouch for, older than ``older_than_s`` (an
        upload in flight has published its files but not yet committed its rows); nothing
        is removed."""
        cutoff = time.time() - older_than_s
        return [
            path
            for path in (sorted(self.blobs.glob("*/*")) if self.blobs.is_dir() else [])
            if path.is_file() and path.stat().st_mtime < cutoff and not known(path.name)
        ]

    def stale_staging(self, older_than_s: float) -> list[Path]:
        """Staging folders left by crashed uploads, older than ``older_than_s``."""
        cutoff = time.time() - older_than_s
        folders = self.tmp.iterdir() if self.tmp.is_dir() else iter(())
        return [folder for folder in folders if folder.stat().st_mtime < cutoff]

    def sweep(self, known: Callable[[str], bool], older_than_s: float) -> list[str]:
        """Remove the ``orphans`` and the ``stale_staging`` folders; the orphans' names."""
        removed: list[str] = []
        for path in self.orphans(known, older_than_s):
            path.unlink(missing_ok=True)
            removed.append(path.name)
        for folder in self.stale_staging(older_than_s):
            shutil.rmtree(folder, ignore_errors=True)
        return removed


class Staging:
    def __init__(self, store: BlobStore, folder: Path) -> None:
        self.store = store
        self.folder = folder
        self._staged: list[str] = []

    def add(self, data: bytes) -> str:
        """Write ``data`` to the staging folder; its SHA-256 (hex) names it."""
        sha256 = hashlib.sha256(data).hexdigest()
        path = self.folder / sha256
        if not path.exists():
            _write_private(path, data)
            self._staged.append(sha256)
        return sha256

    def publish(self) -> list[str]:
        """Move the staged blobs into place; the hashes that were not stored before."""
        new = []
        for sha256 in self._staged:
            target = self.store.path(sha256)
            if target.is_file():
                # Stored already (same bytes): touched so that a sweep does not take it for
                # the leftover of a crashed upload while this upload's rows are uncommitted.
                os.utime(target)
                continue
            target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.replace(self.folder / sha256, target)
            new.append(sha256)
        return new


def _write_private(path: Path, data: bytes) -> None:
    """Raw audio: readable by the service's user only, on disk before it is published."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
