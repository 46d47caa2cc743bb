"""glibc's malloc in the long-running processes (API workers, job workers).

glibc gives each thread that contends for the heap an arena of its own, up to eight per core,
and each arena keeps what its thread freed: a process serving checks four at a time (each in
a thread of its own) grew about 20 MB more than with two arenas, at the same speed
(``bench/server_memory.py``, docs/performance.md). ``MALLOC_ARENA_MAX`` in the environment,
when set, wins.

Even two arenas keep the pages that a request's arrays freed until something asks for them
back: ``trim_periodically`` calls ``malloc_trim(0)`` from a background thread
(``VOXGUARD_MALLOC_TRIM_S``, off by default), which hands the free pages of every arena to
the system. It shrinks a worker after a burst, not its peak under steady load
(docs/performance-history/2026-12-06-malloc-trim.md).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

ARENAS = 2
_M_ARENA_MAX = -8  # mallopt's parameter number, from glibc's malloc.h


def _glibc(function: str) -> Callable[..., int] | None:
    """``function`` of the C library, or None where it is not glibc's."""
    try:
        found: Callable[..., int] = getattr(
            ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6"), function
        )
    except (OSError, AttributeError):
        return None
    return found


def limit_arenas(arenas: int = ARENAS) -> bool:
    """Cap the malloc arenas of this process (before its worker threads start); False where
    the C library is not glibc or ``MALLOC_ARENA_MAX`` is set."""
    if "MALLOC_ARENA_MAX" in os.environ:
        return False
    mallopt = _glibc("mallopt")
    if mallopt is None:
        return False
    if not mallopt(_M_ARENA_MAX, arenas):
        log.debug("mallopt(M_ARENA_MAX) refused")
        return False
    return True


def trim_periodically(interval_s: float) -> threading.Event | None:
    """Call ``malloc_trim(0)`` every ``interval_s`` seconds from a daemon thread; set the
    returned event to stop it. None when ``interval_s`` is 0 or the C library is not glibc."""
    malloc_trim = _glibc("malloc_trim") if interval_s > 0 else None
    if malloc_trim is None:
        return None
    stop = threading.Event()

    def run() -> None:
        while not stop.wait(interval_s):
            malloc_trim(0)

    threading.Thread(target=run, name="malloc-trim", daemon=True).start()
    return stop
