"""A job's files: its inputs under ``<jobs dir>/<id>/input/``, ``results.jsonl`` beside them.

Uploads are copied to disk in chunks, each capped as it is copied (nothing is held whole in
memory). A .zip is kept as it came and read in place by the batch's ``ZipSource`` (names
checked, sizes capped), never extracted. Results are the batch's JSONL records, one per file,
appended as each file finishes; the CSV is made from them on the way out.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import unicodedata
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from voxguard.audio import AUDIO_FILE_SUFFIXES
from voxguard.config import Settings
from voxguard.errors import (
    ArchiveTooLarge,
    AudioTooLarge,
    ConfigurationError,
    InvalidInput,
    UnsupportedAudioFormat,
    VoxGuardError,
)
from voxguard.services.batch import (
    BASE_COLUMNS,
    MODE_COLUMNS,
    RESULT_MODELS,
    BatchMode,
    results_file,
    summary_row,
)
from voxguard.services.batch_results import FileResult, ResultsFile, csv_header, csv_row
from voxguard.services.batch_sources import BatchSource, FolderSource, ZipSource
from voxguard.services.job_schemas import JobKind, ResultsFormat

RESULTS = "results.jsonl"
# In a job's params once housekeeping (``prune``) deleted its folder: results and inputs.
PRUNED_AT = "files_pruned_at"
_CHUNK = 1 << 20
_NAME_MAX = 255  # bytes in one file name, on the filesystems a jobs folder lives on


@dataclass(frozen=True)
class Upload:
    filename: str
    stream: BinaryIO


@dataclass(frozen=True)
class StagedInput:
    files: int
    params: dict[str, Any]  # how to read them back: {"source": "files" | "zip", ...}


def job_dir(settings: Settings, job_id: str) -> Path:
    return settings.resolved_jobs_dir / job_id


def input_dir(settings: Settings, job_id: str) -> Path:
    return job_dir(settings, job_id) / "input"


def results_path(settings: Settings, job_id: str) -> Path:
    return job_dir(settings, job_id) / RESULTS


def mode_of(kind: str) -> BatchMode:
    return BatchMode(JobKind(kind).value)


def job_results(settings: Settings, job_id: str, kind: str) -> ResultsFile:
    return results_file(results_path(settings, job_id), mode_of(kind))


def stage(settings: Settings, job_id: str, uploads: Sequence[Upload]) -> StagedInput:
    """Copy the uploads into the job's input folder, checked; refused, nothing is kept."""
    if not uploads:
        raise InvalidInput("At least one file is required: audio files, or one .zip of them.")
    zips = [u for u in uploads if _suffix(u.filename) == ".zip"]
    if zips and len(uploads) > 1:
        raise InvalidInput(
            "Send audio files, or one .zip of them: not a .zip together with other files.",
            files=len(uploads),
        )
    folder = input_dir(settings, job_id)
    folder.mkdir(parents=True)
    try:
        return _stage_zip(settings, folder, zips[0]) if zips else _stage(settings, folder, uploads)
    except BaseException:
        shutil.rmtree(job_dir(settings, job_id), ignore_errors=True)
        raise


def _stage(settings: Settings, folder: Path, uploads: Sequence[Upload]) -> StagedInput:
    _check_count(len(uploads), settings)
    taken: set[str] = set()
    for index, upload in enumerate(uploads):
        name = _unique(_safe_name(upload.filename, index), taken)
        if _suffix(name) not in AUDIO_FILE_SUFFIXES:
            raise UnsupportedAudioFormat(
                f"{name}: not an audio file name; a job takes files ending in "
                f"{', '.join(AUDIO_FILE_SUFFIXES)}, or one .zip of them.",
                filename=name,
                suffixes=list(AUDIO_FILE_SUFFIXES),
            )
        limit = settings.max_upload_bytes
        if not _copy(upload.stream, folder / name, limit):
            raise AudioTooLarge(
                f"{name}: the file is over the {limit / 1e6:.1f} MB limit "
                "(VOXGUARD_MAX_UPLOAD_MB).",
                filename=name,
                max_bytes=limit,
            )
    return StagedInput(len(uploads), {"source": "files"})


def _stage_zip(settings: Settings, folder: Path, upload: Upload) -> StagedInput:
    name = _safe_name(upload.filename, 0)
    limit = settings.max_archive_bytes
    if not _copy(upload.stream, folder / name, limit):
        raise ArchiveTooLarge(
            f"{name}: over the {settings.max_archive_mb:g} MB limit (VOXGUARD_MAX_ARCHIVE_MB).",
            filename=name,
            max_bytes=limit,
        )
    source = ZipSource(folder / name, settings, label=name)  # refuses unsafe or huge archives
    try:
        count = len(source.names)
    finally:
        source.close()
    _check_count(count, settings)
    return StagedInput(count, {"source": "zip", "archive": name})


def _check_count(count: int, settings: Settings) -> None:
    if count > settings.max_job_files:
        raise InvalidInput(
            f"{count} recordings: a job takes at most {settings.max_job_files} "
            "(VOXGUARD_MAX_JOB_FILES); split them over several jobs.",
            files=count,
            max_files=settings.max_job_files,
        )


def _copy(stream: BinaryIO, path: Path, limit: int) -> bool:
    """Copy ``stream`` to ``path``; False (and nothing kept) once it goes over ``limit``."""
    written = 0
    with path.open("wb") as out:
        while chunk := stream.read(_CHUNK):
            written += len(chunk)
            if written > limit:
                break
            out.write(chunk)
    if written > limit:
        path.unlink()
        return False
    return True


def _safe_name(filename: str, index: int) -> str:
    """The upload's own name without any folder part (it names the file in the results),
    made storable: control characters (NUL included) become ``_``, and a long name is
    shortened to fit."""
    name = PurePosixPath(filename.replace("\\", "/")).name.strip()
    name = "".join("_" if unicodedata.category(c) == "Cc" else c for c in name)
    return _fit(name) if name not in ("", ".", "..") else f"file{index + 1}"


def _fit(name: str) -> str:
    """``name`` if it fits the filesystem's 255 bytes; else cut, keeping its ending, and
    made unique by a hash of the whole name."""
    if len(name.encode()) <= _NAME_MAX:
        return name
    suffix = PurePosixPath(name).suffix
    suffix = suffix if len(suffix.encode()) <= 16 else ""
    tag = "~" + hashlib.sha256(name.encode()).hexdigest()[:8]
    room = _NAME_MAX - len(tag.encode()) - len(suffix.encode())
    stem = name.encode()[:room].decode(errors="ignore")  # cut at a character boundary
    return stem + tag + suffix


def _unique(name: str, taken: set[str]) -> str:
    path, n = PurePosixPath(name), 1
    while name in taken:
        n += 1
        name = _fit(f"{path.stem}-{n}{path.suffix}")
    taken.add(name)
    return name


def _suffix(filename: str) -> str:
    return PurePosixPath(filename.replace("\\", "/")).suffix.lower()


def open_source(settings: Settings, job_id: str, params: dict[str, Any]) -> BatchSource:
    folder = input_dir(settings, job_id)
    if not folder.is_dir():
        raise ConfigurationError(
            f"The job's files are not at {folder}: deleted, or this worker does not share the "
            "jobs folder of the API that took them (VOXGUARD_JOBS_DIR).",
            path=str(folder),
        )
    if params.get("source") == "zip":
        return ZipSource(folder / str(params["archive"]), settings, label=str(params["archive"]))
    return FolderSource(folder, settings)


def remove_inputs(settings: Settings, job_id: str) -> None:
    if not settings.keep_job_inputs:
        shutil.rmtree(input_dir(settings, job_id), ignore_errors=True)


def read_results(settings: Settings, job_id: str, kind: str) -> Iterator[FileResult]:
    """The records written so far (a line still being written is left out)."""
    mode = mode_of(kind)
    for line in _lines(results_path(settings, job_id)):
        try:
            record = json.loads(line)
        except ValueError:
            continue
        file, status = str(record.pop("file")), record.pop("status")
        error, code = record.pop("error", None), record.pop("error_code", None)
        record.pop("mode", None)
        if status != "ok":
            yield FileResult(file, error=error or "failed", error_code=code)
            continue
        summary = summary_row(RESULT_MODELS[mode].model_validate(record))
        yield FileResult(file, summary=summary, detail=record)


def export(settings: Settings, job_id: str, kind: str, fmt: ResultsFormat) -> Iterator[str]:
    """The results as JSONL (the records as written) or CSV (the batch's columns)."""
    if fmt is ResultsFormat.JSONL:
        yield from _lines(results_path(settings, job_id))
        return
    columns = BASE_COLUMNS + MODE_COLUMNS[mode_of(kind)]
    yield csv_header(columns)
    for result in read_results(settings, job_id, kind):
        yield csv_row(result, columns)


def summarize(settings: Settings, job_id: str, kind: str) -> dict[str, Any]:
    """Counts over the results: files, ok, failed, and synthetic (detect) or risk levels and
    alerts (analyze)."""
    results = list(read_results(settings, job_id, kind))
    ok = [r for r in results if r.ok]
    summary: dict[str, Any] = {
        "files": len(results),
        "ok": len(ok),
        "failed": len(results) - len(ok),
    }
    if mode_of(kind) is BatchMode.DETECT:
        summary["synthetic"] = sum(bool(r.summary.get("is_synthetic")) for r in ok)
    else:
        summary["risk_levels"] = dict(Counter(str(r.summary.get("risk_level")) for r in ok))
        summary["alerts"] = sum(len(r.detail.get("alert_ids") or []) for r in ok)
    return summary


def _lines(path: Path) -> Iterator[str]:
    try:
        handle = path.open(encoding="utf-8")
    except FileNotFoundError:
        return
    except OSError as exc:
        raise VoxGuardError(f"Cannot read the job's results at {path}: {exc}") from exc
    with handle:
        for line in handle:
            if line.endswith("\n"):
                yield line
