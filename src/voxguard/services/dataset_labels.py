"""Labels of a dataset's recordings, from a CSV (``path,label[,system]``) or form fields.

Labels are normalised: ``bonafide`` / ``genuine`` -> bonafide, ``spoof`` / ``synthetic`` ->
spoof, case and surrounding spaces ignored. ``system`` names what made a recording (a TTS or
voice-conversion system, a microphone); it is optional. Every error names the row or file.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from voxguard.errors import InvalidLabels
from voxguard.services.schemas import DatasetLabel

_ALIASES = {
    "bonafide": DatasetLabel.BONAFIDE,
    "genuine": DatasetLabel.BONAFIDE,
    "spoof": DatasetLabel.SPOOF,
    "synthetic": DatasetLabel.SPOOF,
}
ACCEPTED_LABELS = tuple(_ALIASES)
ACCEPTED_LABELS_TEXT = "bonafide or genuine (human speech), spoof or synthetic"
CSV_COLUMNS_TEXT = "path,label[,system]"
MAX_SYSTEM_CHARS = 100
MAX_PATH_CHARS = 1000


@dataclass(frozen=True)
class LabelEntry:
    path: str  # the recording's name as stored with the dataset
    label: DatasetLabel
    system: str | None
    where: str  # "labels.csv row 3", "labels[2]": for messages


def parse_label(raw: str, where: str) -> DatasetLabel:
    label = _ALIASES.get(raw.strip().lower())
    if label is None:
        raise InvalidLabels(
            f"{where}: unknown label {raw.strip()!r}; accepted: {ACCEPTED_LABELS_TEXT}.",
            where=where,
            label=raw,
            accepted=list(ACCEPTED_LABELS),
        )
    return label


def parse_system(raw: str | None, where: str) -> str | None:
    system = (raw or "").strip()
    if len(system) > MAX_SYSTEM_CHARS:
        raise InvalidLabels(
            f"{where}: the system name is over {MAX_SYSTEM_CHARS} characters.", where=where
        )
    return system or None


def clean_path(raw: str, where: str) -> str:
    """A relative path with ``/`` separators; absolute paths and ``..`` are refused."""
    path = raw.strip().replace("\\", "/")
    while path.startswith("./"):
        path = path[2:]
    parts = PurePosixPath(path).parts
    if not path or path.startswith("/") or (len(path) > 1 and path[1] == ":") or ".." in parts:
        raise InvalidLabels(
            f"{where}: path {raw.strip()!r} is not a relative path inside the upload "
            "(no leading '/', drive letter or '..').",
            where=where,
            path=raw,
        )
    if len(path) > MAX_PATH_CHARS:
        raise InvalidLabels(f"{where}: the path is over {MAX_PATH_CHARS} characters.", where=where)
    return "/".join(parts)


def labels_from_csv(data: bytes, name: str) -> list[LabelEntry]:
    """Rows of a labels CSV, in order. A first row naming the columns (``path`` and
    ``label``, optionally ``system``, in any order) is a header; without one the columns are
    ``path,label[,system]``. Blank lines are skipped."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidLabels(f"{name} is not UTF-8 text: {exc}.", file=name) from exc
    try:
        rows = [(n, row) for n, row in enumerate(csv.reader(io.StringIO(text)), 1) if any(row)]
    except csv.Error as exc:
        raise InvalidLabels(f"{name} is not a readable CSV: {exc}.", file=name) from exc
    columns = {"path": 0, "label": 1, "system": 2}
    if rows:
        header = [cell.strip().lower() for cell in rows[0][1]]
        if "path" in header and "label" in header:
            columns = {c: header.index(c) for c in ("path", "label", "system") if c in header}
            rows = rows[1:]
    if not rows:
        raise InvalidLabels(
            f"{name} has no rows: one row per recording, columns {CSV_COLUMNS_TEXT}.", file=name
        )
    entries = []
    for number, row in rows:
        where = f"{name} row {number}"
        cells = [row[i] if i < len(row) else "" for i in range(max(columns.values()) + 1)]
        if not cells[columns["path"]].strip() or not cells[columns["label"]].strip():
            raise InvalidLabels(
                f"{where}: a path and a label are needed (columns {CSV_COLUMNS_TEXT}).",
                where=where,
            )
        system_at = columns.get("system")
        entries.append(
            LabelEntry(
                path=clean_path(cells[columns["path"]], where),
                label=parse_label(cells[columns["label"]], where),
                system=parse_system(cells[system_at] if system_at is not None else None, where),
                where=where,
            )
        )
    return entries


def labels_for_files(
    filenames: Sequence[str], labels: Sequence[str], systems: Sequence[str] = ()
) -> list[LabelEntry]:
    """Labels of uploaded files, in their order: ``labels`` either parallel to the files or
    one JSON object mapping each file name to its label (or to ``{"label", "system"}``);
    ``systems``, when given, parallel to the files."""
    if len(labels) == 1 and labels[0].lstrip().startswith("{"):
        labels, json_systems = _from_json(labels[0], filenames)
        systems = systems or json_systems
    if len(labels) != len(filenames):
        raise InvalidLabels(
            f"{len(filenames)} files but {len(labels)} labels: send one 'labels' field per "
            "file, in the same order, or one JSON object mapping each file name to its label.",
            files=len(filenames),
            labels=len(labels),
        )
    if systems and len(systems) != len(filenames):
        raise InvalidLabels(
            f"{len(filenames)} files but {len(systems)} systems: send one 'systems' field per "
            "file (empty for none), or none at all.",
        )
    return [
        LabelEntry(
            path=clean_path(name, f"file {name!r}"),
            label=parse_label(label, f"{name}: labels[{i}]"),
            system=parse_system(systems[i] if systems else None, f"{name}: systems[{i}]"),
            where=f"file {name!r}",
        )
        for i, (name, label) in enumerate(zip(filenames, labels, strict=True))
    ]


def _from_json(text: str, filenames: Sequence[str]) -> tuple[list[str], list[str]]:
    try:
        mapping = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidLabels(f"'labels' is not valid JSON: {exc}.") from exc
    if not isinstance(mapping, dict):
        raise InvalidLabels("'labels' as JSON must be an object: file name -> label.")
    unknown = sorted(set(mapping) - set(filenames))
    if unknown:
        raise InvalidLabels(
            f"'labels' names files that were not uploaded: {_few(unknown)}.", names=unknown[:100]
        )
    missing = [n for n in filenames if n not in mapping]
    if missing:
        raise InvalidLabels(
            f"No label for {_few(missing)}: 'labels' must map every file name to its label "
            f"({ACCEPTED_LABELS_TEXT}).",
            names=missing[:100],
        )
    labels, systems = [], []
    for name in filenames:
        value = mapping[name]
        label, system = (
            (value.get("label"), value.get("system")) if isinstance(value, dict) else (value, None)
        )
        if not isinstance(label, str) or not (system is None or isinstance(system, str)):
            raise InvalidLabels(
                f"{name}: a label is a string, or an object {{'label', 'system'}} of strings.",
                filename=name,
            )
        labels.append(label)
        systems.append(system or "")
    return labels, systems if any(systems) else []


def _few(names: Sequence[str], shown: int = 5) -> str:
    text = ", ".join(names[:shown])
    return text + (f" and {len(names) - shown} more" if len(names) > shown else "")
