"""The corpus manifest: one CSV row per clip, written incrementally and merged at the end."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Literal, TextIO

Label = Literal["bonafide", "spoof"]
LABELS: tuple[Label, ...] = ("bonafide", "spoof")
FAMILIES = ("bonafide", "neural_tts", "neural_vocoder", "vocoder", "classical_tts")
MANIFEST_NAME = "manifest.csv"
PARTS_DIR = "manifests"


@dataclass(frozen=True)
class ManifestRow:
    """One clip. ``path`` is relative to the corpus folder; ``augmentation`` is ``none`` for
    the clean copy, otherwise the channel chain applied (``codec=opus:8k|noise=pink:12dB``).
    ``split`` is derived from ``speaker`` so that a speaker never spans two splits; for
    vocoder resynthesis ``speaker`` is the real speaker whose recording was resynthesised."""

    path: str
    label: Label
    generator: str
    family: str
    voice: str
    speaker: str
    text_id: str
    augmentation: str
    license: str
    duration_s: float
    split: str
    source: str


COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(ManifestRow))


def _to_csv(row: ManifestRow) -> dict[str, str]:
    values = {k: str(v) for k, v in asdict(row).items()}
    values["duration_s"] = f"{row.duration_s:.3f}"
    return values


def _from_csv(values: dict[str, str]) -> ManifestRow:
    missing = [c for c in COLUMNS if c not in values]
    if missing:
        raise ValueError(f"manifest row lacks columns {missing}; expected {list(COLUMNS)}")
    label = values["label"]
    if label not in LABELS:
        raise ValueError(f"manifest label {label!r} is not one of {LABELS}")
    return ManifestRow(
        path=values["path"],
        label="spoof" if label == "spoof" else "bonafide",
        generator=values["generator"],
        family=values["family"],
        voice=values["voice"],
        speaker=values["speaker"],
        text_id=values["text_id"],
        augmentation=values["augmentation"],
        license=values["license"],
        duration_s=float(values["duration_s"]),
        split=values["split"],
        source=values["source"],
    )


class ManifestWriter:
    """Appends rows to a CSV, flushing each one so a partial corpus is always usable."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fresh = not path.exists() or path.stat().st_size == 0
        self._handle: TextIO = path.open("a", newline="", encoding="utf-8")
        self._writer = csv.DictWriter(self._handle, fieldnames=list(COLUMNS))
        if fresh:
            self._writer.writeheader()

    def write(self, row: ManifestRow) -> None:
        self._writer.writerow(_to_csv(row))
        self._handle.flush()

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> ManifestWriter:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def read_manifest(path: Path) -> list[ManifestRow]:
    with path.open(newline="", encoding="utf-8") as handle:
        return [_from_csv(values) for values in csv.DictReader(handle)]


def write_manifest(path: Path, rows: Iterable[ManifestRow]) -> None:
    """Write ``rows`` atomically (temp file + rename), so readers never see half a file."""
    tmp = path.with_suffix(".tmp")
    if tmp.exists():
        tmp.unlink()
    with ManifestWriter(tmp) as writer:
        for row in rows:
            writer.write(row)
    tmp.replace(path)


def part_paths(corpus: Path) -> Iterator[Path]:
    yield from sorted((corpus / PARTS_DIR).glob("*.csv"))


def merge_parts(corpus: Path) -> list[ManifestRow]:
    """Merge the per-generator manifests into ``corpus/manifest.csv``; returns the rows."""
    rows = [row for part in part_paths(corpus) for row in read_manifest(part)]
    write_manifest(corpus / MANIFEST_NAME, rows)
    return rows
