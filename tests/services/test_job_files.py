"""A job's input files: copied capped, checked, named safely; refused, nothing is left."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from tests.api.conftest import make_settings
from tests.jobs import uploads
from voxguard.config import Settings
from voxguard.errors import (
    ArchiveTooLarge,
    AudioTooLarge,
    InvalidInput,
    UnsafeArchive,
    UnsupportedAudioFormat,
)
from voxguard.services.job_files import input_dir, job_dir, open_source, stage


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path, "sqlite://", max_job_files=3, max_upload_mb=0.01)


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_files_keep_their_own_names_without_folders(settings: Settings) -> None:
    staged = stage(settings, "j1", uploads(("../../etc/a.wav", b"1"), ("C:\\calls\\a.wav", b"2")))
    assert staged.files == 2 and staged.params == {"source": "files"}
    folder = input_dir(settings, "j1")
    assert sorted(p.name for p in folder.iterdir()) == ["a-2.wav", "a.wav"]
    assert (folder / "a-2.wav").read_bytes() == b"2"


def test_a_zip_is_kept_whole_and_read_in_place(settings: Settings) -> None:
    data = _zip({"calls/a.wav": b"1", "calls/b.flac": b"2", "readme.txt": b"x"})
    staged = stage(settings, "j2", uploads(("calls.zip", data)))
    assert staged.files == 2 and staged.params == {"source": "zip", "archive": "calls.zip"}
    source = open_source(settings, "j2", staged.params)
    try:
        assert source.names == ["calls/a.wav", "calls/b.flac"]
        assert source.read("calls/b.flac").data == b"2"
    finally:
        source.close()


@pytest.mark.parametrize(
    ("named", "error", "says"),
    [
        ([], InvalidInput, "At least one file"),
        ([("a.wav", b"1"), ("b.zip", b"2")], InvalidInput, "not a .zip together"),
        ([(f"{n}.wav", b"1") for n in "abcd"], InvalidInput, "at most 3 (VOXGUARD_MAX_JOB_FILES)"),
        ([("notes.txt", b"1")], UnsupportedAudioFormat, "notes.txt: not an audio file name"),
        (
            [("a.wav", b"1"), ("big.wav", b"\0" * 20_000)],
            AudioTooLarge,
            "big.wav: the file is over",
        ),
        ([("x.zip", _zip({"../evil.wav": b"1"}))], UnsafeArchive, "'..'"),
        ([("x.zip", _zip({f"{n}.wav": b"1" for n in "abcd"}))], InvalidInput, "4 recordings"),
    ],
)
def test_refused_inputs_leave_nothing_behind(
    settings: Settings, named: list[tuple[str, bytes]], error: type[Exception], says: str
) -> None:
    with pytest.raises(error) as refused:
        stage(settings, "bad", uploads(*named))
    assert says in str(refused.value)
    assert not job_dir(settings, "bad").exists()


def test_a_zip_over_the_archive_limit_is_cut_off_while_copied(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, "sqlite://", max_archive_mb=0.01)
    with pytest.raises(ArchiveTooLarge, match="VOXGUARD_MAX_ARCHIVE_MB"):
        stage(settings, "big", uploads(("x.zip", b"\0" * 20_000)))
    assert not job_dir(settings, "big").exists()


def test_names_the_filesystem_refuses_are_made_storable(settings: Settings) -> None:
    # A name over 255 bytes (a 500 before: "File name too long"), twice, and one with
    # control characters and a NUL (a 500 before: "embedded null byte").
    long = "é" * 300 + ".wav"
    named = uploads((long, b"1"), (long, b"2"), ("bell\x07tab\tnul\x00.wav", b"3"))
    staged = stage(settings, "names", named)
    assert staged.files == 3
    stored = sorted(input_dir(settings, "names").iterdir())
    assert all(len(p.name.encode()) <= 255 and p.suffix == ".wav" for p in stored)
    assert "bell_tab_nul_.wav" in {p.name for p in stored}
    shortened = [p for p in stored if p.name.startswith("é")]
    assert len(shortened) == 2 and sorted(p.read_bytes() for p in shortened) == [b"1", b"2"]
