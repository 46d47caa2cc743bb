"""Sealed files: large arrays encrypted with the voiceprint key, refused when damaged."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from cryptography.fernet import Fernet

from voxguard.store import sealed
from voxguard.store.crypto import VoiceprintCipher
from voxguard.store.sealed import SealedFileError, read_sealed, write_sealed


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sealed, "_CHUNK", 1000)  # many records per array


def test_arrays_and_header_round_trip(tmp_path: Path, small_chunks: None) -> None:
    cipher = VoiceprintCipher(Fernet.generate_key())
    arrays = {
        "vectors": np.random.default_rng(0).standard_normal((30, 256)).astype(np.float32),
        "ids": np.array([b"alice", b"", b"bob"]),
        "empty": np.zeros(0, dtype=np.uint8),
    }
    path = tmp_path / "sub" / "index.sealed"
    size = write_sealed(path, cipher, {"version": 7}, arrays)
    assert path.stat().st_size == size and list(path.parent.iterdir()) == [path]
    assert arrays["vectors"].tobytes()[:64] not in path.read_bytes()
    header, back = read_sealed(path, cipher)
    assert header == {"version": 7} and back.keys() == arrays.keys()
    for name, array in arrays.items():
        assert back[name].dtype == array.dtype and np.array_equal(back[name], array)


def test_truncated_foreign_and_other_files_are_refused(tmp_path: Path, small_chunks: None) -> None:
    cipher = VoiceprintCipher(Fernet.generate_key())
    path = tmp_path / "index.sealed"
    write_sealed(path, cipher, {}, {"x": np.arange(2000, dtype=np.float32)})
    raw = path.read_bytes()
    cases = {
        "truncated": raw[:-10],
        "a record short": raw[: len(raw) // 2],
        "not sealed": b"hello",
    }
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(SealedFileError):
            read_sealed(tmp_path / name, cipher)
    with pytest.raises(SealedFileError, match="another key"):
        read_sealed(path, VoiceprintCipher(Fernet.generate_key()))
