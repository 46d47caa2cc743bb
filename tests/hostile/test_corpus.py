"""The corpus itself: big enough, deterministic, and written by its command line."""

from __future__ import annotations

import json
import zipfile
from io import BytesIO
from pathlib import Path

from tests.hostile import corpus as hostile


def test_the_corpus_covers_every_kind_of_hostility() -> None:
    files = hostile.corpus()
    assert len(files) >= 40
    ids = {h.id for h in files}
    for prefix in ("empty_", "cut_", "header_only_", "ch8_192k", "ten_hours", "bomb_", "zip_",
                   "zip_slip_", "zip_bomb_", "name_", "nan", "inf"):  # fmt: skip
        assert any(i.startswith(prefix) for i in ids), prefix
    names = [h.filename for h in files]
    assert any(len(n) > 300 for n in names) and any(".." in n for n in names)
    assert any(not n.isascii() for n in names)
    # Under the API tests' 1 MB upload limit, so the limit never hides what is wrong.
    assert all(len(h.data) <= 1 << 20 for h in hostile.audio_files())
    assert all(h.expect for h in files)


def test_the_corpus_is_deterministic() -> None:
    again = hostile.corpus.__wrapped__()
    assert [(h.id, h.filename, h.data) for h in again] == [
        (h.id, h.filename, h.data) for h in hostile.corpus()
    ]


def test_the_bombs_are_what_they_say() -> None:
    by_id = {h.id: h for h in hostile.corpus()}
    with zipfile.ZipFile(BytesIO(by_id["zip_bomb_1gb"].data)) as archive:
        assert archive.infolist()[0].file_size == 1 << 30
    with zipfile.ZipFile(BytesIO(by_id["zip_bomb_overlap"].data)) as archive:
        assert sum(i.file_size for i in archive.infolist()) > 3_000_000_000
    assert len(by_id["bomb_flac_8k"].data) < 100_000


def test_command_line_writes_the_files_and_a_manifest(tmp_path: Path) -> None:
    hostile.main(["--out", str(tmp_path)])
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert len(manifest) == len(hostile.corpus())
    for entry in manifest:
        written = tmp_path / entry["file"]
        assert written.stat().st_size == entry["bytes"]
        assert written.parent == tmp_path and entry["expect"]
