"""Load test: ``voxguard serve --workers N`` on PostgreSQL under Locust, with the RSS of every
server process sampled over time.

    .venv/bin/pip install -e ".[bench]"      # Locust: the load test lives here only
    .venv/bin/python bench/load_test.py [--users 50] [--minutes 10] [--workers 2] [--out DIR]
    .venv/bin/python bench/load_test.py --rate 15 --users 60 --minutes 5   # steady checks

It creates a fresh PostgreSQL database (127.0.0.1, trust), starts the server on it, enrolls
20 LibriSpeech readers, measures the unloaded latency of one check (the named baseline, same
run), then runs Locust headless (check 50%, identify 20%, detect 20%, enroll 10%; 4 s clips)
and reports throughput, p50/p95/p99 per request kind, errors, the p99 under load as a ratio
of the unloaded p50, and the servers' RSS over time (CSV and PNG plot under --out).

``--rate R``: checks only, arriving at R per second as a Poisson process (each of the
``--users`` sends its checks at exponential intervals of mean users / R, scheduled from when
the previous one was sent, so the merged arrivals are Poisson at R whatever the latency, as
long as each user's answers come back within its gaps): the latency a steady load gets,
rather than what saturation gives.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psutil
import psycopg

from voxguard.audio import load_audio
from voxguard.audio.wav import wav_bytes

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "librispeech"
VOXGUARD = Path(sys.executable).with_name("voxguard")
KEY = re.compile(r"^\s*(vg_[A-Za-z0-9_-]+)\s*$")


def clips(out: Path, count: int = 40) -> list[Path]:
    files = sorted(SHARED.glob("*.flac"), key=lambda p: -p.stat().st_size)[:count]
    paths = []
    for index, f in enumerate(files):
        samples = load_audio(f).samples[16000 : 16000 * 5]  # 4 s
        path = out / f"clip{index:02d}.wav"
        path.write_bytes(wav_bytes(samples.astype(np.float32), 16000))
        paths.append(path)
    return paths


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "artifacts" / "load")
    parser.add_argument("--rate", type=float, help="steady Poisson checks per second instead")
    parser.add_argument(
        "--replot", action="store_true", help="only redraw the plots from the CSVs in --out"
    )
    args = parser.parse_args()
    if args.replot:
        saved = list(csv.DictReader((args.out / "rss.csv").open()))
        plot(
            args.out,
            [(float(r["t_s"]), int(r["pid"]), float(r["rss_mb"])) for r in saved],
            {int(r["pid"]): r["process"] for r in saved},
        )
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="vg-load-"))
    clip_dir = work / "clips"
    clip_dir.mkdir()
    paths = clips(clip_dir)

    name = f"voxguard_load_{uuid.uuid4().hex[:8]}"
    admin = psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    env = {
        **os.environ,
        "VOXGUARD_DATA_DIR": str(work / "data"),
        "VOXGUARD_DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}",
        "VOXGUARD_API_PORT": "8765",
        "VOXGUARD_RATE_LIMIT_PER_MINUTE": "100000",
        "VOXGUARD_RATE_LIMIT_BURST": "10000",
        "OMP_NUM_THREADS": "1",
    }
    server = subprocess.Popen(
        [str(VOXGUARD), "serve", "--workers", str(args.workers), "--job-workers", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    threading.Thread(
        target=lambda: lines.extend(iter(server.stdout.readline, "")), daemon=True
    ).start()  # type: ignore[union-attr]
    url = "http://127.0.0.1:8765"
    try:
        for _ in range(240):
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        key = next(m.group(1) for line in lines if (m := KEY.match(line)))
        headers = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=url, headers=headers, timeout=120) as client:
            for index, path in enumerate(paths[:20]):
                files = [("files", (path.name, path.read_bytes(), "audio/wav"))]
                client.post("/v1/speakers", data={"name": f"reader{index}"}, files=files)
            unloaded = []
            for path in paths[:20]:
                began = time.perf_counter()
                client.post(
                    "/v1/check", files={"file": (path.name, path.read_bytes(), "audio/wav")}
                )
                unloaded.append(time.perf_counter() - began)
        baseline_p50 = float(np.median(unloaded))

        rss: list[tuple[float, int, float]] = []
        roles: dict[int, str] = {}
        stop = threading.Event()

        def sample() -> None:
            parent = psutil.Process(server.pid)
            began = time.monotonic()
            while not stop.is_set():
                for proc in [parent, *parent.children(recursive=True)]:
                    with contextlib.suppress(psutil.Error):
                        if proc.pid not in roles:
                            roles[proc.pid] = role(proc, parent.pid, roles)
                        rss.append(
                            (time.monotonic() - began, proc.pid, proc.memory_info().rss / 2**20)
                        )
                stop.wait(5)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        prefix = args.out / "locust"
        subprocess.run(
            [
                str(Path(sys.executable).with_name("locust")),
                "-f",
                str(ROOT / "bench" / "load" / "locustfile.py"),
                "--headless",
                "-u",
                str(args.users),
                "-r",
                str(max(1, args.users // 10)),
                "-t",
                f"{int(args.minutes * 60)}s",
                "--host",
                url,
                "--csv",
                str(prefix),
                "--csv-full-history",
                "--only-summary",
                "SteadyCaller" if args.rate else "Caller",
            ],
            env={
                **env,
                "VOXGUARD_LOAD_KEY": key,
                "VOXGUARD_LOAD_CLIPS": str(clip_dir),
                "VOXGUARD_LOAD_MEAN_WAIT_S": str(args.users / args.rate if args.rate else 1.0),
            },
            check=False,
        )
        stop.set()
        sampler.join()
    finally:
        server.terminate()
        server.wait(30)
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    with (args.out / "rss.csv").open("w", newline="") as handle:
        csv.writer(handle).writerows(
            [("t_s", "pid", "process", "rss_mb"), *[(t, p, roles[p], mb) for t, p, mb in rss]]
        )
    stats = list(csv.DictReader((args.out / "locust_stats.csv").open()))
    print(f"unloaded check (baseline, same run): p50 {baseline_p50 * 1000:.0f} ms")
    for row in stats:
        print(
            f"{row['Name']:<22} {row['Request Count']:>6} req  {float(row['Requests/s']):6.2f}/s  "
            f"p50 {row['50%']} ms  p95 {row['95%']} ms  p99 {row['99%']} ms  "
            f"failures {row['Failure Count']}"
        )
    total = next(r for r in stats if r["Name"] == "Aggregated")
    print(f"p99 under load / unloaded p50: {float(total['99%']) / 1000 / baseline_p50:.1f}x")
    for row in csv.DictReader((args.out / "locust_failures.csv").open()):
        if "shed" not in row["Name"]:
            print(f"failure: {row['Name']} x{row['Occurrences']}: {row['Error']}")
    by_pid: dict[int, list[float]] = {}
    for _, pid, mb in rss:
        by_pid.setdefault(pid, []).append(mb)
    for pid, values in by_pid.items():
        print(
            f"{roles[pid]} (pid {pid}): RSS first {values[0]:.0f} MB, "
            f"last {values[-1]:.0f} MB, max {max(values):.0f} MB"
        )
    plot(args.out, rss, roles)
    return 0


def role(proc: psutil.Process, supervisor: int, known: dict[int, str]) -> str:
    """What a server process is: the supervisor, multiprocessing's resource tracker, or the
    n-th API worker."""
    if proc.pid == supervisor:
        return "supervisor"
    if any("resource_tracker" in part for part in proc.cmdline()):
        return "resource tracker"
    return f"API worker {sum(r.startswith('API worker') for r in known.values()) + 1}"


def plot(out: Path, rss: list[tuple[float, int, float]], roles: dict[int, str]) -> None:
    """``load.png``: served and shed requests per second, the accepted checks' latency
    percentiles over the last seconds (Locust's current window) and every server process's
    RSS, on one time axis; ``rss.png``: the RSS alone."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    rows = list(csv.DictReader((out / "locust_stats_history.csv").open()))
    history = [r for r in rows if r["Name"] == "Aggregated" and r["50%"] not in ("N/A", "0")]
    # Latency of the checks the server accepted (shed ones have their own row).
    checks = [r for r in rows if r["Name"] == "check" and r["50%"] not in ("N/A", "0")]
    start = float(history[0]["Timestamp"]) if history else 0.0
    seconds = [float(r["Timestamp"]) - start for r in history]
    figure, (rate, latency, memory) = plt.subplots(3, 1, figsize=(9, 9), sharex=True)
    served = [float(r["Requests/s"]) - float(r["Failures/s"]) for r in history]
    rate.plot(seconds, served, label="answered (not shed)")
    rate.plot(seconds, [float(r["Failures/s"]) for r in history], label="shed (503) or failed")
    rate.set_ylabel("requests/s, all kinds")
    rate.legend(loc="upper right")
    check_s = [float(r["Timestamp"]) - start for r in checks]
    for column in ("50%", "95%", "99%"):
        latency.plot(check_s, [float(r[column]) for r in checks], label=f"p{column[:-1]}")
    latency.set_ylabel("accepted checks: latency (ms)")
    latency.legend(loc="upper right")
    rss_lines(memory, rss, roles)
    memory.set_xlabel("seconds since the load started")
    memory.legend(loc="center right")
    figure.tight_layout()
    figure.savefig(out / "load.png", dpi=90)
    plt.close(figure)
    figure, memory = plt.subplots(figsize=(9, 3.5))
    rss_lines(memory, rss, roles)
    memory.set_xlabel("seconds")
    memory.legend()
    figure.tight_layout()
    figure.savefig(out / "rss.png", dpi=90)
    plt.close(figure)


def rss_lines(axis: Any, rss: list[tuple[float, int, float]], roles: dict[int, str]) -> None:
    """One RSS line per server process, labelled by its role."""
    for pid, name in roles.items():
        points = [(t, mb) for t, p, mb in rss if p == pid]
        axis.plot([t for t, _ in points], [mb for _, mb in points], label=name)
    axis.set_ylabel("RSS (MB)")


if __name__ == "__main__":
    raise SystemExit(main())
