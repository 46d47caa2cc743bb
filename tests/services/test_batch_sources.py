from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from voxguard.config import Settings
from voxguard.errors import (
    ArchiveTooLarge,
    AudioTooLarge,
    InvalidArchive,
    NoAudioFiles,
    UnsafeArchive,
)
from voxguard.services.batch_sources import FolderSource, open_source


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


def _settings(tmp_path: Path, **limits: float) -> Settings:
    return Settings(data_dir=tmp_path / "data", **limits)  # type: ignore[arg-type]


def test_folder_names_are_relative_and_sorted(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    for name in ("b/two.flac", "one.wav", "b/notes.txt"):
        (tmp_path / name).write_bytes(b"x")
    source = open_source(tmp_path, _settings(tmp_path))
    assert isinstance(source, FolderSource)
    assert source.names == ["b/two.flac", "one.wav"]
    assert source.read("b/two.flac").filename == "b/two.flac"


def test_zip_members_read_in_place(tmp_path: Path) -> None:
    archive = _zip(
        tmp_path / "in.zip",
        {
            "calls/a.wav": b"RIFF-a",
            "calls/b.MP3": b"ID3-b",
            "calls/": b"",
            "readme.txt": b"skipped",
            "__MACOSX/calls/._a.wav": b"resource fork",
        },
    )
    source = open_source(archive, _settings(tmp_path))
    try:
        assert source.names == ["calls/a.wav", "calls/b.MP3"]
        item = source.read("calls/a.wav")
        assert (item.filename, item.data) == ("calls/a.wav", b"RIFF-a")
    finally:
        source.close()
    assert not (tmp_path / "calls").exists()  # nothing extracted


@pytest.mark.parametrize("name", ["../evil.wav", "a/../../evil.wav", "/etc/evil.wav", "C:/x.wav"])
def test_zip_with_escaping_names_is_refused(tmp_path: Path, name: str) -> None:
    archive = _zip(tmp_path / "in.zip", {"fine.wav": b"x", name: b"y"})
    with pytest.raises(UnsafeArchive, match=r"absolute path or '\.\.'") as caught:
        open_source(archive, _settings(tmp_path))
    assert caught.value.exit_code == 2


def test_zip_bomb_is_capped(tmp_path: Path) -> None:
    # 3 MB of zeros compresses to a few kB: the declared sizes are what is checked.
    archive = _zip(tmp_path / "in.zip", {"big.wav": bytes(3_000_000), "small.wav": b"RIFF"})
    with pytest.raises(ArchiveTooLarge, match="VOXGUARD_MAX_ARCHIVE_MB"):
        open_source(archive, _settings(tmp_path, max_archive_mb=2))
    source = open_source(archive, _settings(tmp_path, max_upload_mb=1))
    try:
        with pytest.raises(AudioTooLarge, match=r"big\.wav"):
            source.read("big.wav")  # refused before decompressing: that file fails alone
        assert source.read("small.wav").data == b"RIFF"
    finally:
        source.close()


def test_not_a_zip_and_no_audio(tmp_path: Path) -> None:
    fake = tmp_path / "fake.zip"
    fake.write_bytes(b"not a zip")
    with pytest.raises(InvalidArchive, match=r"not a readable \.zip"):
        open_source(fake, _settings(tmp_path))
    with pytest.raises(NoAudioFiles, match="No audio files"):
        open_source(_zip(tmp_path / "t.zip", {"a.txt": b"x"}), _settings(tmp_path))
    text = tmp_path / "list.txt"
    text.write_text("a.wav")
    with pytest.raises(InvalidArchive, match=r"neither a folder nor a \.zip"):
        open_source(text, _settings(tmp_path))
