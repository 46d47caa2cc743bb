"""Many recordings through one workflow (detect, check, identify or analyze), resumably.

Each recording is its own unit of work, so each stores its event (and alerts) as a single
call would. A recording that fails is reported and the batch goes on; only a failure of the
environment (a model that cannot load, bad settings) stops it, since every recording would
fail the same way. With several workers each process loads its own runtime once and runs
one recording at a time on one inference thread; the caller gets results as they complete.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from enum import StrEnum
from functools import partial
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from voxguard.config import Settings
from voxguard.errors import ConfigurationError, ModelUnavailable, VoxGuardError
from voxguard.services.analysis import AnalysisService
from voxguard.services.audio_input import AudioInput
from voxguard.services.batch_results import FileResult, ResultsFile
from voxguard.services.batch_sources import BatchSource
from voxguard.services.recognition import RecognitionService
from voxguard.services.runtime import Runtime, build_runtime, with_signing_secret
from voxguard.services.schemas import AnalyzeOut, CheckOut, DetectOut, IdentifyOut
from voxguard.store.db import unit_of_work
from voxguard.store.setup import open_store

log = logging.getLogger(__name__)

# Failures of the environment, not of a recording: they stop the batch.
_FATAL = (ModelUnavailable, ConfigurationError)


class BatchMode(StrEnum):
    DETECT = "detect"
    CHECK = "check"
    IDENTIFY = "identify"
    ANALYZE = "analyze"


BASE_COLUMNS = ("file", "status", "error", "event_id")
MODE_COLUMNS = {
    BatchMode.DETECT: ("spoof_probability", "is_synthetic", "channel", "speech_s"),
    BatchMode.CHECK: (
        "verdict",
        "risk_level",
        "risk_score",
        "speaker",
        "spoof_probability",
        "alert_id",
    ),
    BatchMode.IDENTIFY: ("decision", "speaker", "speaker_id", "score", "probability"),
    BatchMode.ANALYZE: (
        "num_speakers",
        "risk_level",
        "verdict",
        "synthetic_speakers",
        "duration_s",
    ),
}


def results_file(path: Path, mode: BatchMode) -> ResultsFile:
    return ResultsFile(path, str(mode), BASE_COLUMNS + MODE_COLUMNS[mode])


def _call(
    mode: BatchMode,
    runtime: Runtime,
    item: AudioInput,
    caller: str,
    num_speakers: int | None = None,
) -> BaseModel:
    with unit_of_work(runtime.store.sessions) as session:
        if mode is BatchMode.DETECT:
            return RecognitionService(runtime, session, caller).detect([item])[0]
        if mode is BatchMode.CHECK:
            return RecognitionService(runtime, session, caller).check(item)
        if mode is BatchMode.IDENTIFY:
            return RecognitionService(runtime, session, caller).identify(item)
        return AnalysisService(runtime, session, caller).analyze(item, num_speakers)


# The service result each mode's JSONL records hold (after the file, status and error keys).
RESULT_MODELS: dict[BatchMode, type[BaseModel]] = {
    BatchMode.DETECT: DetectOut,
    BatchMode.CHECK: CheckOut,
    BatchMode.IDENTIFY: IdentifyOut,
    BatchMode.ANALYZE: AnalyzeOut,
}


def summary_row(result: BaseModel) -> dict[str, Any]:
    """The mode's CSV columns, from the service's result."""
    row: dict[str, Any] = {"event_id": getattr(result, "event_id", None)}
    if isinstance(result, DetectOut):
        spoof = result.spoof
        row |= {
            "spoof_probability": spoof.spoof_probability,
            "is_synthetic": spoof.is_synthetic,
            "channel": spoof.channel,
            "speech_s": result.quality.speech_s,
        }
    elif isinstance(result, CheckOut):
        row |= {
            "verdict": result.verdict,
            "risk_level": result.risk_level,
            "risk_score": result.risk_score,
            "speaker": result.speaker.display_name if result.speaker else None,
            "spoof_probability": result.spoof_probability,
            "alert_id": result.alert_id,
        }
    elif isinstance(result, IdentifyOut):
        best = result.best
        row |= {
            "decision": result.decision,
            "speaker": best.display_name if best else None,
            "speaker_id": best.speaker_id if best else None,
            "score": best.score if best else None,
            "probability": best.probability if best else None,
        }
    elif isinstance(result, AnalyzeOut):
        row |= {
            "num_speakers": result.num_speakers,
            "risk_level": result.risk.level,
            "verdict": result.risk.verdict,
            "synthetic_speakers": sum(bool(s.is_synthetic) for s in result.speakers),
            "duration_s": result.duration_s,
        }
    return row


def run_file(
    runtime: Runtime,
    mode: BatchMode,
    name: str,
    read: Callable[[], AudioInput],
    caller: str,
    num_speakers: int | None = None,
) -> FileResult:
    """One recording, read and run; its failure as a result, unless it is the environment's.
    ``num_speakers``: for analyze, when known."""
    try:
        result = _call(mode, runtime, read(), caller, num_speakers)
    except _FATAL:
        raise
    except VoxGuardError as exc:
        return FileResult(name, error=exc.message, error_code=exc.code)
    except Exception as exc:  # a bug or a library's surprise: reported, the batch goes on
        log.exception("batch: %s failed", name)
        return FileResult(name, error=f"{type(exc).__name__}: {exc}", error_code="internal_error")
    return FileResult(name, summary=summary_row(result), detail=result.model_dump(mode="json"))


@dataclass(frozen=True)
class BatchPlan:
    todo: list[str]
    skipped: int  # already in the results file
    failed_before: int  # of the skipped, those that failed (not retried)
    retried: int  # failed records dropped so that their recordings run again


def plan(source: BatchSource, results: ResultsFile, retry_failed: bool) -> BatchPlan:
    previous = results.load()
    retried = results.drop_failed() if retry_failed else 0
    if retried:
        previous = {f: s for f, s in previous.items() if s != "failed"}
    todo = [name for name in source.names if name not in previous]
    skipped = [name for name in source.names if name in previous]
    failed = sum(previous[name] == "failed" for name in skipped)
    return BatchPlan(todo=todo, skipped=len(skipped), failed_before=failed, retried=retried)


def run(
    source: BatchSource,
    todo: list[str],
    mode: BatchMode,
    caller: str,
    *,
    settings: Settings,
    workers: int = 1,
    open_runtime: Callable[[], AbstractContextManager[Runtime]] | None = None,
) -> Iterator[FileResult]:
    """Each recording's result as it completes. One worker: in this process, with the
    runtime ``open_runtime`` gives (default: built from ``settings``); several: in
    worker processes that each build their own."""
    if not todo:
        return
    workers = min(workers, len(todo))
    if workers == 1:
        opener = open_runtime or partial(_built, settings)
        with opener() as runtime:
            for name in todo:
                yield run_file(runtime, mode, name, partial(source.read, name), caller)
        return
    yield from _run_parallel(source, todo, mode, caller, settings, workers)


@contextmanager
def _built(settings: Settings) -> Iterator[Runtime]:
    runtime = build_runtime(settings)
    try:
        yield runtime
    finally:
        runtime.close()


def _run_parallel(
    source: BatchSource,
    todo: list[str],
    mode: BatchMode,
    caller: str,
    settings: Settings,
    workers: int,
) -> Iterator[FileResult]:
    # Create what the workers would otherwise race to create (the schema, the key files).
    settings = with_signing_secret(settings)
    open_store(settings).close()
    settings = settings.model_copy(update={"inference_threads": 1})
    pool = ProcessPoolExecutor(
        workers,
        # spawn, not fork: the parent may run threads (the progress bar) and loaded libraries.
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_start_worker,
        initargs=(settings, caller),
    )
    pending: dict[Future[FileResult], str] = {}
    names = iter(todo)
    try:
        while True:
            # Read ahead only a little: the recordings travel to the workers in memory.
            while len(pending) < 2 * workers and (name := next(names, None)) is not None:
                try:
                    item = source.read(name)
                except VoxGuardError as exc:
                    yield FileResult(name, error=exc.message, error_code=exc.code)
                    continue
                pending[pool.submit(_work, mode, name, item)] = name
            if not pending:
                break
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                name = pending.pop(future)
                try:
                    yield future.result()
                except BrokenProcessPool:
                    raise VoxGuardError(
                        f"A worker process died while running {name}; the results so far "
                        "are kept: run the same command again to go on."
                    ) from None
    finally:
        # Interrupted or failed: drop what has not started; the workers finish their file.
        pool.shutdown(wait=True, cancel_futures=True)


# --- in each worker process ---------------------------------------------------------------

_runtime: Runtime | None = None
_caller = "batch"
_failure: VoxGuardError | None = None


def _start_worker(settings: Settings, caller: str) -> None:
    global _runtime, _caller, _failure
    # Ctrl-C is the parent's to handle: it stops handing out files, these finish theirs.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()
    _caller = caller
    try:
        _runtime = build_runtime(settings)
    except VoxGuardError as exc:  # raised with the first file, so the parent reports it
        _failure = exc


def _exit_with_parent(parent: int) -> None:
    """A killed parent leaves its workers waiting for work forever: they leave too."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


def _work(mode: BatchMode, name: str, item: AudioInput) -> FileResult:
    if _failure is not None:
        raise _failure
    assert _runtime is not None
    return run_file(_runtime, mode, name, lambda: item, _caller)
