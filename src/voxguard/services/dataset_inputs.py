"""What a dataset upload is made of: its recordings (a ``BatchSource``) and their labels.

Three shapes, all ending the same way: uploaded files with a label each; a .zip holding the
recordings and one labels CSV; a folder (CLI) holding them and ``labels.csv``. A CSV's paths
are relative to the folder the CSV is in. Every recording must have a label and every label
a recording: an unlabelled recording is refused, not skipped, so that a typo in the CSV
cannot silently leave part of a dataset out. Files that are not audio by their name (notes,
the CSV itself) are ignored.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Literal

from voxguard.config import Settings
from voxguard.errors import AudioDecodeError, InvalidArchive, InvalidDataset, InvalidLabels
from voxguard.services.batch_sources import BatchSource, FolderSource, ZipSource
from voxguard.services.dataset_labels import (
    CSV_COLUMNS_TEXT,
    LabelEntry,
    labels_for_files,
    labels_from_csv,
)

LABELS_CSV = "labels.csv"
ZIP_MAGIC = b"PK\x03\x04"
Origin = Literal["files", "zip", "folder"]


@dataclass
class DatasetInput:
    """Recordings by name and the label of each (same names); close it when done."""

    source: BatchSource
    labels: dict[str, LabelEntry]
    origin: Origin
    described: str  # "the .zip calls.zip": for messages
    default_name: str
    unlabelled: list[str] = field(default_factory=list)  # recordings the labels miss
    unmatched: list[LabelEntry] = field(default_factory=list)  # labels naming no recording

    def close(self) -> None:
        self.source.close()

    def __enter__(self) -> DatasetInput:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def from_files(
    source: BatchSource, labels: Sequence[str], systems: Sequence[str] = ()
) -> DatasetInput:
    """Uploaded files, in order, with ``labels`` (and ``systems``) as ``labels_for_files``."""
    names = source.names
    twice = sorted(n for n, count in Counter(names).items() if count > 1)
    if twice:
        raise InvalidDataset(
            f"Several files are named {', '.join(twice[:5])}: give each file its own name.",
            names=twice[:100],
        )
    entries = labels_for_files(names, labels, systems)
    return DatasetInput(
        source=source,
        labels=dict(zip(names, entries, strict=True)),
        origin="files",
        described="the upload",
        default_name="upload",
    )


def from_zip(archive: Path | BinaryIO, settings: Settings, name: str) -> DatasetInput:
    """A .zip (a path, or an uploaded file named ``name``) with its recordings and one CSV."""
    source = ZipSource(archive, settings, label=name)
    try:
        csv_name = _labels_csv(source.other_names, name)
        entries = labels_from_csv(source.read_other(csv_name), csv_name)
        base = PurePosixPath(csv_name).parent
        by_member = {_joined(base, e.path): e for e in entries}
        return _matched(
            source, entries, by_member, "zip", f"the .zip {name}", PurePosixPath(name).stem
        )
    except BaseException:
        source.close()
        raise


def from_folder(folder: Path, settings: Settings) -> DatasetInput:
    csv_path = folder / LABELS_CSV
    if not csv_path.is_file():
        raise InvalidLabels(
            f"No {LABELS_CSV} in the folder {folder}: add one, columns {CSV_COLUMNS_TEXT}, "
            "one row per recording (paths relative to the folder).",
            path=str(folder),
        )
    source = FolderSource(folder, settings)
    entries = labels_from_csv(csv_path.read_bytes(), LABELS_CSV)
    by_member = {e.path: e for e in entries}
    return _matched(source, entries, by_member, "folder", f"the folder {folder}", folder.name)


def open_dataset_input(path: Path, settings: Settings) -> DatasetInput:
    """A folder or a .zip on disk (the CLI)."""
    if path.is_dir():
        return from_folder(path, settings)
    if path.is_file() and path.suffix.lower() == ".zip":
        return from_zip(path, settings, str(path))
    if not path.exists():
        raise AudioDecodeError(f"No such folder or file: {path}", path=str(path))
    raise InvalidArchive(
        f"{path} is neither a folder nor a .zip: give a folder or a .zip of recordings with "
        f"a {LABELS_CSV} ({CSV_COLUMNS_TEXT}).",
        path=str(path),
    )


def _labels_csv(others: Sequence[str], archive: str) -> str:
    """The labels CSV of a .zip: the only ``labels.csv`` or else the only ``.csv``."""
    named = [n for n in others if PurePosixPath(n).name.lower() == LABELS_CSV]
    candidates = named or [n for n in others if n.lower().endswith(".csv")]
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise InvalidLabels(
            f"No labels CSV in {archive}: add {LABELS_CSV}, columns {CSV_COLUMNS_TEXT}, one "
            "row per recording (paths relative to the CSV's folder).",
            path=archive,
        )
    raise InvalidLabels(
        f"Several labels CSVs in {archive} ({', '.join(candidates[:5])}): keep one, named "
        f"{LABELS_CSV}.",
        path=archive,
        candidates=candidates[:100],
    )


def _joined(base: PurePosixPath, path: str) -> str:
    return path if str(base) == "." else f"{base}/{path}"


def _matched(
    source: BatchSource,
    entries: list[LabelEntry],
    by_member: dict[str, LabelEntry],
    origin: Origin,
    described: str,
    default_name: str,
) -> DatasetInput:
    rows: Counter[str] = Counter(e.path for e in entries)
    twice = [e for e in entries if rows[e.path] > 1]
    if twice:
        raise InvalidLabels(
            f"{twice[-1].where}: {twice[-1].path} is labelled more than once; one row per "
            "recording.",
            path=twice[-1].path,
        )
    names = set(source.names)
    return DatasetInput(
        source=source,
        labels={member: e for member, e in by_member.items() if member in names},
        origin=origin,
        described=described,
        default_name=default_name,
        unlabelled=[n for n in source.names if n not in by_member],
        unmatched=[e for member, e in by_member.items() if member not in names],
    )
