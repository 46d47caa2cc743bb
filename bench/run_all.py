"""Run every benchmark in sequence, each against its named baseline in the same run.

    make bench            # or: .venv/bin/python bench/run_all.py [--quick]

Every script prints its own table; this runner only pins one inference thread (the targets are
stated for one CPU thread) and reports which benchmarks failed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
AASIST = os.environ.get("VOXGUARD_AASIST_DIR", "/tmp/aasist")

# (script, arguments, arguments with --quick)
BENCHMARKS = [
    ("speaker_speed.py", ["--repeats", "30"], ["--repeats", "10"]),
    ("spoof_speed.py", ["--windows", "40"], ["--windows", "10"]),
    ("spoof_false_alarms.py", [], ["--fsdd-step", "50"]),
    ("spoof_short_clips.py", [], ["--step", "20"]),
    ("narrowband_agreement.py", [], ["--max-files", "10"]),
    ("speaker_accuracy.py", [], ["--limit", "60"]),
    ("batch_workers.py", ["--files", "40"], ["--files", "20"]),
    ("stream_lag.py", ["--minutes", "10"], ["--minutes", "2"]),
    # 1:N over a million voiceprints: about 10 GB of memory and 10-20 minutes on two cores.
    ("identify_million.py", [], ["--n", "100000", "--gallery-n", "20000"]),
    # Needs a checkout of clovaai/aasist (MIT) at /tmp/aasist or VOXGUARD_AASIST_DIR.
    ("check_speed.py", ["--aasist", AASIST], ["--aasist", AASIST, "--repeats", "10"]),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repeats and readers")
    args = parser.parse_args()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    failed: list[str] = []
    for script, full, quick in BENCHMARKS:
        print(f"\n=== {script} ===", flush=True)
        command = [sys.executable, str(BENCH / script), *(quick if args.quick else full)]
        if subprocess.run(command, env=env, check=False).returncode != 0:
            failed.append(script)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
