"""Large derived files (the identification index) encrypted at rest with the voiceprint key.

A sealed file holds a JSON header and named numpy arrays. Everything is Fernet-encrypted in
records of at most ``_CHUNK`` bytes (each record: an 8-byte length, then the token), so
neither side ever holds a second copy of a gigabyte-sized array. The header records every
array's dtype, shape and SHA-256, checked when the file is read back: a truncated, reordered
or foreign file is refused rather than half-loaded. Files are written beside their final
path, flushed to disk and renamed into place, so a reader (another worker) never sees a
partial file, and a writer killed half-way leaves the previous file as it was (and its
temporary file, ``temporary_files`` names them).
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from voxguard.errors import EncryptionKeyMismatch
from voxguard.store.crypto import VoiceprintCipher

_MAGIC = b"voxguard-sealed-1\n"
_CHUNK = 32 * 1024 * 1024
_LENGTH = struct.Struct(">Q")


class SealedFileError(ValueError):
    """The file is not a complete sealed file written with this key."""


def write_sealed(
    path: Path, cipher: VoiceprintCipher, header: Mapping[str, Any], arrays: Mapping[str, Any]
) -> int:
    """Write ``header`` and ``arrays`` to ``path`` atomically; the bytes written."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    contiguous = {name: np.ascontiguousarray(array) for name, array in arrays.items()}
    layout = [
        {
            "name": name,
            "dtype": array.dtype.str,
            "shape": list(array.shape),
            "sha256": hashlib.sha256(_bytes_of(array)).hexdigest(),
        }
        for name, array in contiguous.items()
    ]
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(_MAGIC)
            _write_record(out, cipher, json.dumps({"header": header, "arrays": layout}).encode())
            for array in contiguous.values():
                view = _bytes_of(array)
                for start in range(0, len(view), _CHUNK):
                    _write_record(out, cipher, bytes(view[start : start + _CHUNK]))
            out.flush()
            os.fsync(out.fileno())
            size = out.tell()
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    _sync_directory(path.parent)  # the rename itself survives a power cut
    return size


def temporary_files(path: Path) -> list[Path]:
    """Temporary files of writes to ``path`` that have not finished: a writer's own, or ones
    left by a writer that was killed. Only whoever alone may write ``path`` can remove them."""
    return sorted(path.parent.glob(f".{path.name}.*.tmp"))


def read_sealed_header(path: Path, cipher: VoiceprintCipher) -> dict[str, Any]:
    """The header alone (the first record), without reading the arrays."""
    with path.open("rb") as src:
        if src.read(len(_MAGIC)) != _MAGIC:
            raise SealedFileError(f"{path} is not a sealed file")
        first = next(_records(src, cipher), None)
    if first is None:
        raise SealedFileError(f"{path} ends before its header")
    header: dict[str, Any] = json.loads(first)["header"]
    return header


def read_sealed(path: Path, cipher: VoiceprintCipher) -> tuple[dict[str, Any], dict[str, Any]]:
    """(header, arrays) of a sealed file; ``SealedFileError`` when it is damaged or foreign."""
    with path.open("rb") as src:
        if src.read(len(_MAGIC)) != _MAGIC:
            raise SealedFileError(f"{path} is not a sealed file")
        records = _records(src, cipher)
        try:
            meta = json.loads(next(records))
        except StopIteration:
            raise SealedFileError(f"{path} ends before its header") from None
        arrays: dict[str, Any] = {}
        for spec in meta["arrays"]:
            array = np.empty(spec["shape"], dtype=np.dtype(spec["dtype"]))
            view = _bytes_of(array)
            filled = 0
            while filled < len(view):
                chunk = next(records, None)
                if chunk is None or filled + len(chunk) > len(view):
                    raise SealedFileError(f"{path}: array {spec['name']} is truncated")
                view[filled : filled + len(chunk)] = chunk
                filled += len(chunk)
            if hashlib.sha256(view).hexdigest() != spec["sha256"]:
                raise SealedFileError(f"{path}: array {spec['name']} fails its checksum")
            arrays[spec["name"]] = array
        return meta["header"], arrays


def _sync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _bytes_of(array: Any) -> memoryview:
    return memoryview(array.reshape(-1).view(np.uint8))


def _write_record(out: BinaryIO, cipher: VoiceprintCipher, plaintext: bytes) -> None:
    token = cipher.encrypt(plaintext)
    out.write(_LENGTH.pack(len(token)))
    out.write(token)


def _records(src: BinaryIO, cipher: VoiceprintCipher) -> Iterator[bytes]:
    while prefix := src.read(_LENGTH.size):
        if len(prefix) < _LENGTH.size:
            raise SealedFileError("a sealed file ends inside a record")
        (length,) = _LENGTH.unpack(prefix)
        token = src.read(length)
        if len(token) < length:
            raise SealedFileError("a sealed file ends inside a record")
        try:
            yield cipher.decrypt(token)
        except EncryptionKeyMismatch as exc:
            raise SealedFileError("a sealed file was written with another key") from exc
