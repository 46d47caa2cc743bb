"""Throughput of ``voxguard batch --detect`` with N worker processes against one (the baseline).

Each run is the whole command, as a user starts it (models loaded, worker processes spawned,
one event stored per file), on the same LibriSpeech files, into a fresh results file and a
fresh data dir, in the same run:

    python bench/batch_workers.py [--files 20] [--workers 1 2]

Prints files per second for each worker count and its ratio to one worker; reads
../shared/data. On a shared machine the ratio depends on what else runs: say which.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
VOXGUARD = Path(sys.executable).with_name("voxguard")


def run(folder: Path, workers: int, work: Path) -> tuple[float, int]:
    """Seconds for one whole ``voxguard batch`` and the number of files that passed."""
    out = work / f"workers{workers}.csv"
    env = os.environ | {"VOXGUARD_DATA_DIR": str(work / f"data{workers}")}
    command = [str(VOXGUARD), "batch", str(folder), "--out", str(out), "--workers", str(workers)]
    start = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True)
    seconds = time.perf_counter() - start
    passed = sum(",ok," in line for line in out.read_text().splitlines())
    return seconds, passed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        work = Path(temp)
        folder = work / "librispeech"
        folder.mkdir()
        for path in sorted((SHARED / "librispeech").glob("*.flac"))[: args.files]:
            shutil.copy(path, folder)
        results = {n: run(folder, n, work) for n in sorted(set(args.workers) | {1})}
    base_rate = args.files / results[1][0]
    report = {
        "files": args.files,
        "cpus": os.cpu_count(),
        "runs": [
            {
                "workers": n,
                "seconds": round(seconds, 2),
                "files_per_s": round(args.files / seconds, 2),
                "vs_1_worker": round(args.files / seconds / base_rate, 2),
                "ok": passed,
            }
            for n, (seconds, passed) in results.items()
        ],
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
