"""Where a batch's recordings come from: a folder (recursively) or a .zip read in place.

Each recording is named by its path relative to the source, with ``/`` separators: the name
the results file keys on, so a run can be resumed. A .zip is never extracted: members are
read one at a time into memory, with their names checked before anything is read and their
sizes capped (each within VOXGUARD_MAX_UPLOAD_MB, all within VOXGUARD_MAX_ARCHIVE_MB).
Datasets (``services/dataset_inputs.py``) read their recordings through the same sources.
"""

from __future__ import annotations

import zipfile
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Protocol

from voxguard.audio import AUDIO_FILE_SUFFIXES, audio_files_in
from voxguard.config import Settings
from voxguard.errors import (
    ArchiveTooLarge,
    AudioDecodeError,
    AudioTooLarge,
    InvalidArchive,
    NoAudioFiles,
    UnsafeArchive,
)
from voxguard.services.audio_input import AudioInput

# Resource forks macOS's archiver adds next to each file ("__MACOSX/._a.wav"): not audio.
_MACOS_METADATA = "__MACOSX/"


class BatchSource(Protocol):
    @property
    def names(self) -> list[str]:
        """The recordings, by relative path, sorted."""
        ...

    def read(self, name: str) -> AudioInput: ...

    def close(self) -> None: ...


def open_source(path: Path, settings: Settings) -> BatchSource:
    if path.is_dir():
        return FolderSource(path, settings)
    if path.is_file() and path.suffix.lower() == ".zip":
        return ZipSource(path, settings)
    if not path.exists():
        raise AudioDecodeError(f"No such folder or file: {path}", path=str(path))
    raise InvalidArchive(
        f"{path} is neither a folder nor a .zip: give a folder of recordings or a .zip of them.",
        path=str(path),
    )


def _too_large(name: str, size: int, settings: Settings) -> AudioTooLarge:
    return AudioTooLarge(
        f"{name}: {size / 1e6:.1f} MB is over the {settings.max_upload_mb:g} MB limit "
        "(VOXGUARD_MAX_UPLOAD_MB).",
        filename=name,
        max_bytes=settings.max_upload_bytes,
    )


class FolderSource:
    def __init__(self, root: Path, settings: Settings) -> None:
        self.root = root
        self.settings = settings
        self._names = [p.relative_to(root).as_posix() for p in audio_files_in(root)]

    @property
    def names(self) -> list[str]:
        return self._names

    def read(self, name: str) -> AudioInput:
        path = self.root / name
        try:
            size = path.stat().st_size
            if size > self.settings.max_upload_bytes:
                raise _too_large(name, size, self.settings)
            return AudioInput(filename=name, data=path.read_bytes())
        except OSError as exc:
            raise AudioDecodeError(
                f"{name}: cannot read it: {exc.strerror}", filename=name
            ) from exc

    def close(self) -> None:
        pass


def _unsafe(name: str) -> bool:
    """A name that would land outside the folder it were extracted to."""
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return True
    return ".." in PurePosixPath(name.replace("\\", "/")).parts


class ZipSource:
    """A .zip on disk, or an open binary file such as an upload (``label`` then names it in
    messages). Audio members are the recordings; the others (a labels CSV) can be read too."""

    def __init__(self, path: Path | BinaryIO, settings: Settings, label: str | None = None) -> None:
        self.settings = settings
        shown = label or (str(path) if isinstance(path, Path) else "the .zip")
        try:
            self._zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise InvalidArchive(f"{shown} is not a readable .zip: {exc}", path=shown) from exc
        try:
            self._members, self._others = self._check(shown)
        except BaseException:
            self._zip.close()
            raise

    def _check(self, path: str) -> tuple[dict[str, zipfile.ZipInfo], dict[str, zipfile.ZipInfo]]:
        infos = self._zip.infolist()
        unsafe = [i.filename for i in infos if _unsafe(i.filename)]
        if unsafe:
            shown = ", ".join(unsafe[:5]) + (
                f" and {len(unsafe) - 5} more" if len(unsafe) > 5 else ""
            )
            raise UnsafeArchive(
                f"{path}: refused: member names with an absolute path or '..' ({shown}); "
                "a .zip of recordings holds relative paths only.",
                path=path,
                members=unsafe[:100],
            )
        total = sum(i.file_size for i in infos)
        if total > self.settings.max_archive_bytes:
            raise ArchiveTooLarge(
                f"{path}: {total / 1e6:.1f} MB uncompressed is over the "
                f"{self.settings.max_archive_mb:g} MB limit (VOXGUARD_MAX_ARCHIVE_MB).",
                path=path,
                max_bytes=self.settings.max_archive_bytes,
            )
        files = [i for i in infos if not i.is_dir() and not i.filename.startswith(_MACOS_METADATA)]
        audio = {i.filename: i for i in files if _is_audio_name(i.filename)}
        if not audio:
            raise NoAudioFiles(
                f"No audio files in {path}: looked for names ending in "
                f"{', '.join(AUDIO_FILE_SUFFIXES)}.",
                path=path,
                suffixes=list(AUDIO_FILE_SUFFIXES),
            )
        others = {i.filename: i for i in files if not _is_audio_name(i.filename)}
        return dict(sorted(audio.items())), dict(sorted(others.items()))

    @property
    def names(self) -> list[str]:
        return list(self._members)

    @property
    def other_names(self) -> list[str]:
        """Members that are not recordings by their name (folders and macOS forks left out)."""
        return list(self._others)

    def read(self, name: str) -> AudioInput:
        return AudioInput(filename=name, data=self._read(self._members[name]))

    def read_other(self, name: str) -> bytes:
        return self._read(self._others[name])

    def _read(self, info: zipfile.ZipInfo) -> bytes:
        name = info.filename
        if info.file_size > self.settings.max_upload_bytes:
            raise _too_large(name, info.file_size, self.settings)
        try:
            # zipfile stops a member at its declared size and checks its CRC, so the sizes
            # checked above bound what is decompressed, whatever the compressed data says.
            return self._zip.read(info)
        except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError) as exc:
            # RuntimeError: encrypted; NotImplementedError: an unsupported compression.
            raise AudioDecodeError(
                f"{name}: cannot read it from the .zip: {exc}", filename=name
            ) from exc

    def close(self) -> None:
        self._zip.close()


def _is_audio_name(name: str) -> bool:
    return PurePosixPath(name).suffix.lower() in AUDIO_FILE_SUFFIXES
