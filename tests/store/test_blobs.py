from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest

from voxguard.store.blobs import BlobStore


def test_staged_blobs_are_published_once(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "datasets")
    with store.staging() as staging:
        sha = staging.add(b"audio")
        assert sha == hashlib.sha256(b"audio").hexdigest()
        assert not store.path(sha).exists()  # staged only
        assert staging.add(b"audio") == sha
        assert staging.publish() == [sha]
    assert store.path(sha).read_bytes() == b"audio"
    assert store.path(sha).relative_to(store.blobs).parts == (sha[:2], sha)
    old = time.time() - 7200
    os.utime(store.path(sha), (old, old))
    with store.staging() as staging:
        staging.add(b"audio")
        assert staging.publish() == []  # stored already: not written again, but touched
    assert store.path(sha).stat().st_mtime > old
    assert list(store.tmp.iterdir()) == []


def test_staging_is_removed_when_the_upload_fails(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "datasets")
    with pytest.raises(RuntimeError), store.staging() as staging:
        sha = staging.add(b"audio")
        raise RuntimeError("a later recording was refused")
    assert not store.path(sha).exists() and list(store.tmp.iterdir()) == []


def test_sweep_and_remove(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "datasets")
    with store.staging() as staging:
        kept, orphan, young = (staging.add(x) for x in (b"kept", b"orphan", b"young"))
        staging.publish()
    crashed = store.tmp / "crashed-upload"
    crashed.mkdir()
    old = time.time() - 7200
    for path in (store.path(kept), store.path(orphan), crashed):
        os.utime(path, (old, old))
    assert store.sweep({kept}.__contains__, older_than_s=3600) == [orphan]
    assert store.path(kept).exists() and store.path(young).exists() and not crashed.exists()
    assert store.remove([kept, orphan]) == 1 and not store.path(kept).exists()
