"""glibc's malloc in the long-running processes (API workers, job workers).

glibc gives each thread that contends for the heap an arena of its own, up to eight per core,
and each arena keeps what its thread freed: a process serving checks four at a time (each in
a thread of its own) grew about 20 MB more than with two arenas, at the same speed
(``bench/server_memory.py``, docs/performance.md). ``MALLOC_ARENA_MAX`` in the environment,
when set, wins.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os

log = logging.getLogger(__name__)

ARENAS = 2
_M_ARENA_MAX = -8  # mallopt's parameter number, from glibc's malloc.h


def limit_arenas(arenas: int = ARENAS) -> bool:
    """Cap the malloc arenas of this process (before its worker threads start); False where
    the C library is not glibc or ``MALLOC_ARENA_MAX`` is set."""
    if "MALLOC_ARENA_MAX" in os.environ:
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    if not mallopt(_M_ARENA_MAX, arenas):
        log.debug("mallopt(M_ARENA_MAX) refused")
        return False
    return True
