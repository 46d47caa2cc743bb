"""Memory of every process that ``voxguard serve`` and ``voxguard worker`` run, idle and busy.

    .venv/bin/python bench/server_memory.py [--workers 2] [--requests 24] [--repeats 30]

On SQLite in a temporary data dir: starts ``voxguard serve --workers N --job-workers 1``,
waits until every API worker has started its application, then takes the RSS, PSS and USS
(``/proc/<pid>/smaps_rollup``, Linux) of each process of the tree: idle; after enrolling 5
LibriSpeech readers and sending check, identify and detect requests with 4 s clips (four at a
time, so that every worker serves some); after a detect job of 3 clips. Then the same for a
``voxguard worker`` beside a server without job workers: idle, then after a job. Then the
peak RSS of CLI commands that need no model. "onnxruntime" says whether a process has the
library mapped: VoxGuard imports it only to load a model, so "no" means no model loaded.

Then the allocators, in fresh processes that each load the full runtime: RSS after 40 checks
sent four at a time, and one check's latency and CPU time (medians over ``--repeats``) with
the library defaults (onnxruntime's CPU memory arena on, glibc's 8 malloc arenas per core: the
named baseline), the onnxruntime arena off, both as shipped (arena off, 2 malloc arenas), and
the shipped settings with a fixed 1 MiB malloc mmap threshold; interleaved (two rounds, the
lower median of each), same run, same clip.

Memory is not timing: a busy machine changes its figures little. The latency ratios are
timings: read the CPU time per check where the machine is busy.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "librispeech"
VOXGUARD = Path(sys.executable).with_name("voxguard")
KEY = re.compile(r"^\s*(vg_[A-Za-z0-9_-]+)\s*$")
RATE = 16000


# --- processes and their memory -------------------------------------------------------------


@dataclass(frozen=True)
class Memory:
    rss_mb: float
    pss_mb: float
    uss_mb: float
    onnxruntime: bool
    torch: bool


def memory(pid: int) -> Memory:
    fields: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, _, rest = line.partition(":")
        fields[name] = int(rest.split()[0])  # kB
    maps = Path(f"/proc/{pid}/maps").read_text()
    return Memory(
        rss_mb=fields["Rss"] / 1024,
        pss_mb=fields["Pss"] / 1024,
        uss_mb=(fields["Private_Clean"] + fields["Private_Dirty"]) / 1024,
        onnxruntime="onnxruntime_pybind11_state" in maps,
        torch="libtorch" in maps,
    )


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        listed = (task / "children").read_text().split()
        for child in map(int, listed):
            found += [child, *children(child)]
    return found


def listening_inodes(port: int) -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            cols = line.split()
            if int(cols[1].rsplit(":", 1)[1], 16) == port and cols[3] == "0A":
                inodes.add(cols[9])
    return inodes


def holds_socket(pid: int, inodes: set[str]) -> bool:
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:[") and target[8:-1] in inodes:
            return True
    return False


def roles(root: int, port: int | None, root_role: str) -> list[tuple[str, int]]:
    """(role, pid) of ``root`` and its descendants, the API workers told apart from the job
    process by the listening socket they hold (the job process starts before uvicorn binds)."""
    inodes = listening_inodes(port) if port else set()
    found = [(root_role, root)]
    for pid in children(root):
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        if "resource_tracker" in cmdline:
            role = "multiprocessing resource tracker"
        elif holds_socket(pid, inodes):
            role = "API worker"
        else:
            role = "job process"
        found.append((role, pid))
    return found


Row = tuple[str, str, int, Memory]


def snapshot(stage: str, root: int, port: int | None, root_role: str) -> list[Row]:
    return [(stage, role, pid, memory(pid)) for role, pid in roles(root, port, root_role)]


def print_table(rows: list[Row]) -> None:
    print(
        "| stage | process | pid | RSS MB | PSS MB | USS MB | onnxruntime | torch |\n"
        "| --- | --- | ---: | ---: | ---: | ---: | --- | --- |"
    )
    for stage, role, pid, m in rows:
        print(
            f"| {stage} | {role} | {pid} | {m.rss_mb:.0f} | {m.pss_mb:.0f} | {m.uss_mb:.0f} "
            f"| {'yes' if m.onnxruntime else 'no'} | {'yes' if m.torch else 'no'} |"
        )


# --- a server and a worker ------------------------------------------------------------------


def clips(out: Path, count: int = 10) -> list[bytes]:
    from voxguard.audio import load_audio
    from voxguard.audio.wav import wav_bytes

    files = sorted(SHARED.glob("*.flac"), key=lambda p: -p.stat().st_size)[:count]
    return [
        wav_bytes(load_audio(f).samples[RATE : RATE * 5].astype(np.float32), RATE) for f in files
    ]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Running:
    process: subprocess.Popen[str]
    lines: list[str]


@contextmanager
def start(args: list[str], env: dict[str, str]) -> Iterator[Running]:
    process = subprocess.Popen(
        [str(VOXGUARD), *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines: list[str] = []
    assert process.stdout is not None
    stream = process.stdout
    threading.Thread(target=lambda: lines.extend(iter(stream.readline, "")), daemon=True).start()
    try:
        yield Running(process, lines)
    finally:
        process.terminate()
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_ready(url: str, server: Running, workers: int) -> str | None:
    """The admin key, once every API worker has started its application (each loads its
    models in its lifespan, before it logs that)."""
    deadline = time.monotonic() + 300
    while sum("Application startup complete" in line for line in server.lines) < workers:
        if server.process.poll() is not None:
            raise SystemExit("server exited:\n" + "".join(server.lines))
        if time.monotonic() > deadline:
            raise SystemExit("server not ready:\n" + "".join(server.lines))
        time.sleep(0.5)
    httpx.get(f"{url}/health", timeout=30).raise_for_status()
    time.sleep(2)
    return next((m.group(1) for line in server.lines if (m := KEY.match(line))), None)


def run_job(client: httpx.Client, audio: list[bytes]) -> dict[str, object]:
    files = [("files", (f"c{i}.wav", data, "audio/wav")) for i, data in enumerate(audio)]
    created = client.post("/v1/jobs/detect", files=files)
    created.raise_for_status()
    job_id = created.json()["id"]
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        body: dict[str, object] = client.get(f"/v1/jobs/{job_id}").json()
        if body["status"] not in ("queued", "running"):
            return body
        time.sleep(0.5)
    raise SystemExit(f"job {job_id} did not finish")


def traffic(url: str, key: str, audio: list[bytes], requests: int) -> None:
    headers = {"Authorization": f"Bearer {key}", "Connection": "close"}
    for index, data in enumerate(audio[:5]):
        files = [("files", (f"r{index}.wav", data, "audio/wav"))]
        httpx.post(
            f"{url}/v1/speakers", data={"name": f"reader{index}"}, files=files, headers=headers
        ).raise_for_status()

    def one(index: int) -> None:
        route = ("/v1/check", "/v1/identify", "/v1/detect")[index % 3]
        data = audio[index % len(audio)]
        files = {"file": ("clip.wav", data, "audio/wav")}
        httpx.post(f"{url}{route}", files=files, headers=headers, timeout=120).raise_for_status()

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(one, range(requests)))


def serve_phase(
    env: dict[str, str], audio: list[bytes], workers: int, requests: int
) -> tuple[list[Row], str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    rows: list[Row] = []
    args = ["serve", "--workers", str(workers), "--port", str(port), "--job-workers", "1"]
    with start(args, env) as server:
        key = wait_ready(url, server, workers)
        assert key, "a fresh data dir prints the first admin key"
        pid = server.process.pid
        rows += snapshot("serve, idle", pid, port, "supervisor")
        traffic(url, key, audio, requests)
        rows += snapshot(f"serve, after {requests} requests", pid, port, "supervisor")
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}) as client:
            done = run_job(client, audio[:3])
        assert done["status"] == "succeeded", done
        rows += snapshot("serve, after a detect job", pid, port, "supervisor")
    return rows, key


def worker_phase(env: dict[str, str], audio: list[bytes], key: str) -> list[Row]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    rows: list[Row] = []
    args = ["serve", "--workers", "1", "--port", str(port), "--job-workers", "0"]
    with start(args, env) as server, start(["worker", "--workers", "1"], env) as worker:
        wait_ready(url, server, 1)
        time.sleep(5)  # the worker is up and polling
        rows += snapshot("worker, idle", worker.process.pid, None, "`voxguard worker`")
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}) as client:
            done = run_job(client, audio[:3])
        assert done["status"] == "succeeded", done
        pid = worker.process.pid
        rows += snapshot("worker, after a detect job", pid, None, "`voxguard worker`")
    return rows


def peak_rss_mb(args: list[str], env: dict[str, str]) -> tuple[float, int]:
    """Peak RSS of one command (its own, from wait4) and its exit status."""
    process = subprocess.Popen(
        [str(VOXGUARD), *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_maxrss / 1024, process.returncode


# --- onnxruntime's arena and malloc's arenas: memory against speed, in fresh processes ------

_PROBE = """
import json, os, statistics, sys, time
from concurrent.futures import ThreadPoolExecutor
ort_arena, clip, repeats = sys.argv[1] == "on", sys.argv[2], int(sys.argv[3])
import voxguard.models as models
from voxguard.malloc import limit_arenas
if ort_arena:  # onnxruntime's default, which VoxGuard turns off
    shipped = models.session_options
    def session_options(threads=1):
        options = shipped(threads)
        options.enable_cpu_mem_arena = True
        return options
    models.session_options = session_options
limit_arenas()  # as a serving process does; a no-op when MALLOC_ARENA_MAX is set
from voxguard.cli.local import settings
from voxguard.services.audio_input import AudioInput
from voxguard.services.recognition import RecognitionService
from voxguard.services.runtime import build_runtime
from voxguard.store.db import unit_of_work
data = open(clip, "rb").read()
runtime = build_runtime(settings())
def rss():
    return int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
def check():
    with unit_of_work(runtime.store.sessions) as session:
        RecognitionService(runtime, session, "bench").check(AudioInput("c.wav", data))
loaded = rss()
with ThreadPoolExecutor(4) as pool:  # as a worker serving four requests at once
    list(pool.map(lambda _: check(), range(40)))
busy = rss()
wall, cpu = [], []
for _ in range(repeats):
    began, used = time.perf_counter(), time.process_time()
    check()
    wall.append(time.perf_counter() - began)
    cpu.append(time.process_time() - used)
print(json.dumps({"loaded": loaded, "busy": busy, "wall_ms": 1000 * statistics.median(wall),
                  "cpu_ms": 1000 * statistics.median(cpu)}))
"""

_GLIBC_ARENAS = str(8 * (os.cpu_count() or 1))  # glibc's own default: 8 per core
# (label, onnxruntime arena, environment: MALLOC_ARENA_MAX unset means VoxGuard's own cap)
_VARIANTS: tuple[tuple[str, str, dict[str, str]], ...] = (
    ("library defaults (baseline)", "on", {"MALLOC_ARENA_MAX": _GLIBC_ARENAS}),
    ("onnxruntime arena off", "off", {"MALLOC_ARENA_MAX": _GLIBC_ARENAS}),
    ("arena off, 2 malloc arenas (shipped)", "off", {}),
    # A fixed mmap threshold stops glibc from raising it (up to 32 MiB) as large blocks are
    # freed, so that large arrays go back to the system at once: not shipped (its CPU cost).
    ("shipped + MALLOC_MMAP_THRESHOLD_=1 MiB", "off", {"MALLOC_MMAP_THRESHOLD_": str(2**20)}),
)


def allocator_probe(env: dict[str, str], clip: Path, repeats: int) -> dict[str, dict[str, float]]:
    """Each variant in two fresh processes, interleaved so that drift hits all alike; per
    variant the lower of the two medians and the memory of the first run."""
    results: dict[str, dict[str, float]] = {}
    for _ in range(2):
        for label, arena, malloc in _VARIANTS:
            run_env = {k: v for k, v in env.items() if not k.startswith("MALLOC_")} | malloc
            out = subprocess.run(
                [sys.executable, "-c", _PROBE, arena, str(clip), str(repeats)],
                env=run_env,
                capture_output=True,
                text=True,
                check=True,
            )
            got = json.loads(out.stdout.strip().splitlines()[-1])
            prior = results.setdefault(label, got)
            for key in ("wall_ms", "cpu_ms"):
                prior[key] = min(prior[key], got[key])
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--requests", type=int, default=24)
    parser.add_argument("--repeats", type=int, default=30, help="timed checks per probe")
    parser.add_argument("--skip-allocators", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="vg-mem-"))
    env = {
        **os.environ,
        "VOXGUARD_DATA_DIR": str(work / "data"),
        "VOXGUARD_API_HOST": "127.0.0.1",
        "VOXGUARD_RATE_LIMIT_PER_MINUTE": "100000",
        "VOXGUARD_RATE_LIMIT_BURST": "10000",
        "VOXGUARD_LOG_LEVEL": "INFO",
    }
    env.pop("VOXGUARD_DATABASE_URL", None)
    env.pop("VOXGUARD_QUEUE_URL", None)
    audio = clips(work)
    rows, key = serve_phase(env, audio, args.workers, args.requests)
    rows += worker_phase(env, audio, key)
    print_table(rows)

    print("\n| command (no model needed) | peak RSS MB | exit |\n| --- | ---: | ---: |")
    for command in (["--help"], ["jobs", "list"], ["keys", "list"], ["users", "list"]):
        peak, code = peak_rss_mb(command, env)
        print(f"| `voxguard {' '.join(command)}` | {peak:.0f} | {code} |")
    peak, code = peak_rss_mb(["serve", "--help"], env)
    print(f"| `voxguard serve --help` | {peak:.0f} | {code} |")

    if not args.skip_allocators:
        clip = work / "clip.wav"
        clip.write_bytes(audio[0])
        result = allocator_probe(env, clip, args.repeats)
        print(
            "\n| allocators (one process, full runtime) | RSS loaded MB "
            "| RSS after 40 checks, 4 at once, MB | check median ms | CPU ms per check |"
            "\n| --- | ---: | ---: | ---: | ---: |"
        )
        for label, _, _ in _VARIANTS:
            r = result[label]
            print(
                f"| {label} | {r['loaded']:.0f} | {r['busy']:.0f} | {r['wall_ms']:.1f} "
                f"| {r['cpu_ms']:.1f} |"
            )
        base = result[_VARIANTS[0][0]]
        for label, _, _ in _VARIANTS[1:]:
            r = result[label]
            print(
                f"{label} / baseline: check latency {r['wall_ms'] / base['wall_ms']:.2f}, "
                f"CPU {r['cpu_ms'] / base['cpu_ms']:.2f}, "
                f"RSS after the checks {r['busy'] - base['busy']:+.0f} MB"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
