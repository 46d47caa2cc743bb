"""``limit_blas_threads`` caps the BLAS pools already loaded; 0 leaves them alone. Each case
in a fresh interpreter: the limit is process-wide, and OpenBLAS reads its start-up thread
count from the environment when it loads."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

_PROBE = """
import json, sys
import numpy  # loads numpy's OpenBLAS, started on 2 threads (the environment below)
from threadpoolctl import threadpool_info
from voxguard.blas import limit_blas_threads

before = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
applied = limit_blas_threads(int(sys.argv[1]))
after = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
print(json.dumps({"before": before, "applied": applied, "after": after}))
"""


def _probe(threads: int) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    env["OPENBLAS_NUM_THREADS"] = "2"
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, str(threads)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, object] = json.loads(out.stdout)
    return result


@pytest.mark.parametrize("threads", [1, 3])
def test_caps_the_loaded_blas_pools(threads: int) -> None:
    result = _probe(threads)
    assert result["before"] and set(result["before"]) == {2}  # type: ignore[arg-type]
    assert result["applied"] is True
    assert set(result["after"]) == {threads}  # type: ignore[arg-type]


def test_zero_leaves_the_library_default() -> None:
    result = _probe(0)
    assert result["applied"] is False
    assert result["after"] == result["before"]
