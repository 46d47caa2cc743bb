"""A batch's results file: CSV (the mode's key columns) or JSONL (each whole result).

One line per recording, appended and flushed as each finishes, so that an interrupted run
loses at most the line being written; that torn line is cut off when the file is opened
again. The ``file`` column (the recording's path relative to the source) is what a resumed
run skips on. Error messages are kept on one line so that a line is always one record.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from voxguard.errors import InvalidInput

FORMATS = (".csv", ".jsonl")


@dataclass(frozen=True)
class FileResult:
    """One recording's outcome: its key numbers (``summary``, the CSV columns) and the
    service's whole result (``detail``), or the error that stopped it."""

    file: str
    error: str | None = None
    error_code: str | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def status(self) -> str:
        return "ok" if self.ok else "failed"


@dataclass(frozen=True)
class _Line:
    text: str
    file: str
    status: str


class ResultsFile:
    """``columns``: the CSV header (file, status, error first); ``mode``: written into each
    JSONL record and checked on resume, as the header is for a CSV."""

    def __init__(self, path: Path, mode: str, columns: Sequence[str]) -> None:
        self.path = path
        self.mode = mode
        self.columns = list(columns)
        self.is_csv = path.suffix.lower() == ".csv"
        if path.suffix.lower() not in FORMATS:
            raise InvalidInput(
                f"--out {path}: the results file must end in .csv or .jsonl "
                "(CSV: one row of key numbers per file; JSONL: one whole JSON result per file).",
                path=str(path),
                accepted=list(FORMATS),
            )
        if path.is_dir():
            raise InvalidInput(f"--out {path} is a folder; name a .csv or .jsonl file.")
        self._header: str | None = None
        self._lines: list[_Line] = []
        self._handle: TextIO | None = None

    def load(self) -> dict[str, str]:
        """The recordings already in the file, with their status; cuts off a torn last line."""
        if not self.path.exists():
            return {}
        self._cut_torn_line()
        # After the cut the text ends in a newline; records hold none (see _cell).
        text = self.path.read_text(encoding="utf-8")
        lines = [line + "\n" for line in text.split("\n")[:-1]]
        if self.is_csv and lines:
            self._header, lines = lines[0], lines[1:]
            self._check_header(self._header)
        self._lines = [self._parse(n, line) for n, line in enumerate(lines, 2) if line.strip()]
        return {line.file: line.status for line in self._lines}

    def drop_failed(self) -> int:
        """Rewrite the file without its failed records (atomically: a temp file renamed over
        it), so that their recordings run again; the number dropped."""
        kept = [line for line in self._lines if line.status != "failed"]
        dropped = len(self._lines) - len(kept)
        if dropped:
            fd, temp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
                    out.write((self._header or "") + "".join(line.text for line in kept))
                shutil.copymode(self.path, temp)
                os.replace(temp, self.path)
            except BaseException:
                Path(temp).unlink(missing_ok=True)
                raise
            self._lines = kept
        return dropped

    def append(self, result: FileResult) -> None:
        if self._handle is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            new = not self.path.exists() or self.path.stat().st_size == 0
            self._handle = self.path.open("a", encoding="utf-8", newline="")
            if new and self.is_csv:
                self._handle.write(csv_header(self.columns))
        if self.is_csv:
            self._handle.write(csv_row(result, self.columns))
        else:
            self._handle.write(jsonl_record(result, self.mode))
        self._handle.flush()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def _cut_torn_line(self) -> None:
        """Drop what follows the last newline: a record cut off by an interruption."""
        with self.path.open("rb+") as handle:
            data = handle.read()
            if data and not data.endswith(b"\n"):
                handle.truncate(data.rfind(b"\n") + 1)

    def _check_header(self, header: str) -> None:
        found = next(csv.reader([header]))
        if found != self.columns:
            raise InvalidInput(
                f"--out {self.path} holds other results (columns {', '.join(found)}); "
                f"{self.mode} writes {', '.join(self.columns)}: name another file.",
                path=str(self.path),
            )

    def _parse(self, number: int, line: str) -> _Line:
        where = f"--out {self.path}, line {number}"
        if self.is_csv:
            cells = next(csv.reader([line]))
            if len(cells) < 2:
                raise InvalidInput(f"{where}: not a results row: {line.strip()[:80]}")
            return _Line(line, cells[0], cells[1])
        try:
            record = json.loads(line)
            file, status = record["file"], record["status"]
        except (ValueError, TypeError, KeyError):
            raise InvalidInput(f"{where}: not a results record: {line.strip()[:80]}") from None
        if record.get("mode", self.mode) != self.mode:
            raise InvalidInput(
                f"--out {self.path} holds {record['mode']} results, not {self.mode}: "
                "name another file.",
                path=str(self.path),
            )
        return _Line(line, str(file), str(status))


def csv_row(result: FileResult, columns: Sequence[str]) -> str:
    """One CSV line: ``columns`` of the result (file, status, error, then its summary)."""
    row = {"file": result.file, "status": result.status, "error": result.error}
    row |= result.summary
    return _csv_line([_cell(row.get(c)) for c in columns])


def csv_header(columns: Sequence[str]) -> str:
    return _csv_line(columns)


def jsonl_record(result: FileResult, mode: str) -> str:
    """One JSONL line: file, status, error, error_code and mode, then the whole result."""
    record = {
        "file": result.file,
        "status": result.status,
        "error": result.error,
        "error_code": result.error_code,
        "mode": mode,
    }
    return json.dumps(record | result.detail) + "\n"


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, str):
        return value.replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
    return value


def _csv_line(cells: Sequence[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(cells)
    return buffer.getvalue()
