"""Sealed files: large arrays encrypted with the voiceprint key, refused when damaged, and
replaced whole or not at all."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from cryptography.fernet import Fernet

from voxguard.store import sealed
from voxguard.store.crypto import VoiceprintCipher
from voxguard.store.sealed import (
    SealedFileError,
    read_sealed,
    read_sealed_header,
    temporary_files,
    write_sealed,
)


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


def test_the_header_is_read_alone(tmp_path: Path) -> None:
    cipher = VoiceprintCipher(Fernet.generate_key())
    path = tmp_path / "index.sealed"
    write_sealed(path, cipher, {"version": 3}, {"x": np.arange(10, dtype=np.float32)})
    assert read_sealed_header(path, cipher) == {"version": 3}
    (tmp_path / "empty").write_bytes(b"")
    with pytest.raises(SealedFileError):
        read_sealed_header(tmp_path / "empty", cipher)


# Another process writing version 2 over ``path``, stopped for good after its first record.
_STALLED_WRITER = """
import sys, time
from pathlib import Path
import numpy as np
from voxguard.store import sealed
from voxguard.store.crypto import VoiceprintCipher
write_record = sealed._write_record
def stall(out, cipher, plaintext):
    write_record(out, cipher, plaintext)
    out.flush()
    print("writing", flush=True)
    time.sleep(120)
sealed._write_record = stall
cipher = VoiceprintCipher(sys.argv[2].encode())
sealed.write_sealed(Path(sys.argv[1]), cipher, {"version": 2}, {"x": np.zeros(5000)})
"""


def test_a_writer_killed_half_way_leaves_the_old_file_whole(tmp_path: Path) -> None:
    key = Fernet.generate_key()
    cipher = VoiceprintCipher(key)
    path = tmp_path / "index.sealed"
    old = np.arange(5000, dtype=np.float64)
    write_sealed(path, cipher, {"version": 1}, {"x": old})
    writer = subprocess.Popen(
        [sys.executable, "-c", _STALLED_WRITER, str(path), key.decode()],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "writing"
        (partial,) = temporary_files(path)
        assert partial.stat().st_size > 0
        # A reader meanwhile sees the old file, whole.
        assert read_sealed(path, cipher)[0] == {"version": 1}
    finally:
        writer.kill()  # SIGKILL: no clean-up runs
        writer.wait(10)
    header, arrays = read_sealed(path, cipher)
    assert header == {"version": 1} and np.array_equal(arrays["x"], old)
    assert temporary_files(path) == [partial]  # left for the next writer to remove
