"""numpy's BLAS threads in the processes that run the models.

OpenBLAS starts one thread per core and, after each call it splits, keeps them spinning for
a while. The check's matrix products are small (a DCT over a 4 s spectrogram, a mel
projection), and a serving process runs several requests at once: the extra threads only
spin, against the request threads and against every other process. On two busy cores that
doubled the CPU of a check (``bench/profile_check.py``, docs/performance.md).
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def limit_blas_threads(threads: int) -> bool:
    """Run the BLAS libraries loaded so far (numpy's, and any other's) on ``threads``
    threads; False, leaving them alone, when ``threads`` is 0 (``VOXGUARD_BLAS_THREADS``).
    A library loaded afterwards keeps its own default: call this once the models are loaded.
    """
    if threads <= 0:
        return False
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads, user_api="blas")
    log.debug("BLAS threads limited to %d", threads)
    return True
