from __future__ import annotations

from pathlib import Path

import pytest

from voxguard.training.manifest import (
    COLUMNS,
    ManifestRow,
    ManifestWriter,
    merge_parts,
    read_manifest,
)

REQUIRED = (
    "path", "label", "generator", "family", "voice", "speaker", "text_id", "augmentation",
    "license", "duration_s",
)  # fmt: skip


def _row(path: str, label: str = "spoof") -> ManifestRow:
    return ManifestRow(
        path=path,
        label="spoof" if label == "spoof" else "bonafide",
        generator="piper",
        family="neural_tts",
        voice="joe@ls1.0",
        speaker="piper:joe",
        text_id="t00001",
        augmentation="codec=opus:8k",
        license="MIT, with a comma",
        duration_s=3.25,
        split="train",
        source="",
    )


def test_columns_start_with_the_documented_schema() -> None:
    assert COLUMNS[: len(REQUIRED)] == REQUIRED


def test_round_trip_and_incremental_append(tmp_path: Path) -> None:
    part = tmp_path / "manifests" / "piper.csv"
    with ManifestWriter(part) as writer:
        writer.write(_row("piper/00000.wav"))
    with ManifestWriter(part) as writer:  # a resumed build appends without a second header
        writer.write(_row("piper/00001.wav"))
    rows = read_manifest(part)
    assert [r.path for r in rows] == ["piper/00000.wav", "piper/00001.wav"]
    assert rows[0] == _row("piper/00000.wav")


def test_merge_parts_writes_the_manifest(tmp_path: Path) -> None:
    for name in ("a", "b"):
        with ManifestWriter(tmp_path / "manifests" / f"{name}.csv") as writer:
            writer.write(_row(f"{name}/00000.wav"))
    rows = merge_parts(tmp_path)
    assert [r.path for r in read_manifest(tmp_path / "manifest.csv")] == [r.path for r in rows]
    assert len(rows) == 2


def test_bad_label_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text(",".join(COLUMNS) + "\n" + ",".join(["x"] * len(COLUMNS)) + "\n")
    with pytest.raises(ValueError, match="label"):
        read_manifest(path)
