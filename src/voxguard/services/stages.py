"""Where a request's time goes, stage by stage, without the services knowing who listens.

A shell (the API's metrics) installs an observer for the duration of one request with
:func:`observing`; the services mark their stages with :func:`stage` (decode, VAD, embed,
spoof, behavior, risk, ...). With no observer installed, as in the CLI and the job workers,
a stage costs one context-variable lookup. The observer travels in a context variable, so it
follows the request into the thread pool that runs it and never leaks into another request.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

StageObserver = Callable[[str, float], None]
"""Called with a stage's name and the seconds it took, once per stage run."""

_observer: ContextVar[StageObserver | None] = ContextVar("voxguard_stage_observer", default=None)


@contextmanager
def observing(observer: StageObserver) -> Iterator[None]:
    """Report every stage run inside this block (and the threads it hands work to)."""
    token = _observer.set(observer)
    try:
        yield
    finally:
        _observer.reset(token)


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Time the block as stage ``name``; also when it raises (a refused upload still spent
    its time decoding)."""
    observer = _observer.get()
    if observer is None:
        yield
        return
    start = time.perf_counter()
    try:
        yield
    finally:
        observer(name, time.perf_counter() - start)


def record(name: str, seconds: float) -> None:
    """Report a duration measured elsewhere (database statements timed by driver events)."""
    observer = _observer.get()
    if observer is not None:
        observer(name, seconds)
