"""Where the CPU of one check goes: in-process, over HTTP, and function by function.

    .venv/bin/pip install -e ".[bench]"                      # yappi, the profiler
    git archive HEAD src | tar -x -C /tmp/vg-head            # a build to compare against
    nice -n 19 .venv/bin/python bench/profile_check.py \
        --variant "HEAD" /tmp/vg-head/src \
        --variant "HEAD, OPENBLAS_NUM_THREADS=1" /tmp/vg-head/src OPENBLAS_NUM_THREADS=1
    nice -n 19 .venv/bin/python bench/profile_check.py --profile-only     # just the profile

On SQLite in a temporary data dir with 20 LibriSpeech readers enrolled (over HTTP, as a user
would), each check a 4 s clip of one of them. For each variant, in fresh processes:

- **in-process**: ``build_runtime`` and ``RecognitionService.check`` one at a time in a unit
  of work, as ``bench/check_speed.py``; CPU time of the whole process (every thread, from
  ``getrusage``) and wall time per check;
- **HTTP**: ``voxguard serve --workers 1 --job-workers 0`` on a free port, checks posted with
  httpx one at a time and then four at a time (what one API worker admits at once); CPU time
  of the server process (``/proc``, every thread) per check.

Variants: each ``--variant LABEL SRC [NAME=VALUE ...]`` (that ``src`` on ``PYTHONPATH``, with
those environment variables; the first is the named baseline), then this tree with
``VOXGUARD_BLAS_THREADS=0`` (numpy's BLAS threads as the library chooses: one per core) and
this tree as shipped. Each is run ``--rounds`` times, interleaved, and the lower figure of the
rounds kept; ratios are against the first variant. The children run without
``OMP_NUM_THREADS`` and ``OPENBLAS_NUM_THREADS`` unless a variant sets them, as ``voxguard
serve`` is normally started, so that the libraries' own thread choices show.

Then the profile: the app of this tree served by uvicorn in a child process under yappi (CPU
clock, every Python thread), a client process posting checks four at a time; CPU per check by
stage (inclusive) and by package (exclusive), and the top functions. yappi's own overhead
inflates Python-heavy code (SQLAlchemy, Starlette) against native code (onnxruntime, numpy):
the profiled total is printed beside the unprofiled one.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from server_memory import KEY, RATE, SHARED, free_port, start, wait_ready

READERS = 20
_THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)  # every thread of this process
    return usage.ru_utime + usage.ru_stime


# --- clips and HTTP ------------------------------------------------------------------------


def write_clips(out: Path) -> None:
    """A 4 s check clip and a 10 s enrollment clip of each of the READERS longest files."""
    import numpy as np

    from voxguard.audio import load_audio
    from voxguard.audio.wav import wav_bytes

    files = sorted(SHARED.glob("*.flac"), key=lambda p: -p.stat().st_size)[:READERS]
    for index, path in enumerate(files):
        samples = load_audio(path).samples.astype(np.float32)
        (out / f"check{index:02d}.wav").write_bytes(wav_bytes(samples[RATE : RATE * 5], RATE))
        (out / f"enroll{index:02d}.wav").write_bytes(wav_bytes(samples[RATE * 5 :], RATE))


def post_checks(url: str, key: str, clips: Path, count: int, concurrency: int) -> float:
    """Post ``count`` checks, ``concurrency`` at a time; the wall seconds they took."""
    import httpx

    audio = [p.read_bytes() for p in sorted(clips.glob("check*.wav"))]
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=url, headers=headers, timeout=120) as client:

        def one(index: int) -> None:
            files = {"file": ("clip.wav", audio[index % len(audio)], "audio/wav")}
            client.post("/v1/check", files=files).raise_for_status()

        began = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(one, range(count)))
        return time.perf_counter() - began


@contextmanager
def serve(env: dict[str, str]) -> Iterator[tuple[int, str, list[str]]]:
    """``voxguard serve --workers 1`` (the API in one process); its pid, URL and output."""
    port = free_port()
    args = ["serve", "--workers", "1", "--job-workers", "0", "--port", str(port)]
    with start(args, env) as server:
        url = f"http://127.0.0.1:{port}"
        wait_ready(url, server, 1)
        yield server.process.pid, url, server.lines


def tree_cpu_s(pid: int) -> float:
    """CPU seconds (user + system, every thread) of ``pid`` and its children (Linux)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pending = [pid]
    while pending:
        current = pending.pop()
        fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
        for task in Path(f"/proc/{current}/task").iterdir():
            pending += map(int, (task / "children").read_text().split())
    return total


def enroll(env: dict[str, str], clips: Path) -> str:
    """Start the server once on the fresh data dir, enroll READERS readers; the admin key."""
    import httpx

    with serve(env) as (_, url, lines):
        key = next((m.group(1) for line in lines if (m := KEY.match(line))), None)
        assert key, "a fresh data dir prints the first admin key"
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}) as client:
            for index, path in enumerate(sorted(clips.glob("enroll*.wav"))):
                files = [("files", (path.name, path.read_bytes(), "audio/wav"))]
                client.post(
                    "/v1/speakers", data={"name": f"reader{index}"}, files=files, timeout=120
                ).raise_for_status()
    return key


def http_cpu(env: dict[str, str], key: str, clips: Path, checks: int) -> dict[str, float]:
    out: dict[str, float] = {}
    with serve(env) as (pid, url, _):
        post_checks(url, key, clips, 8, 4)  # warm-up: every request thread has run once
        for concurrency in (1, 4):
            before = tree_cpu_s(pid)
            wall = post_checks(url, key, clips, checks, concurrency)
            out[f"http{concurrency}_cpu_ms"] = 1000 * (tree_cpu_s(pid) - before) / checks
            out[f"http{concurrency}_wall_ms"] = 1000 * wall / checks
    return out


# --- children ------------------------------------------------------------------------------


def child_inprocess(clips: Path, checks: int) -> None:
    """One check at a time through ``RecognitionService.check``: CPU and wall per check."""
    from threadpoolctl import threadpool_info

    from voxguard.config import get_settings
    from voxguard.services.audio_input import AudioInput
    from voxguard.services.recognition import RecognitionService
    from voxguard.services.runtime import build_runtime
    from voxguard.store.db import unit_of_work

    audio = [p.read_bytes() for p in sorted(clips.glob("check*.wav"))]
    runtime = build_runtime(get_settings())

    def check(index: int) -> bool:
        with unit_of_work(runtime.store.sessions) as session:
            service = RecognitionService(runtime, session, "bench")
            return service.check(AudioInput("c.wav", audio[index % len(audio)])).recognized

    recognized = sum(check(i) for i in range(len(audio)))  # warm-up
    cpu, wall = [], []
    total = _cpu_s()
    for index in range(checks):
        began, used = time.perf_counter(), _cpu_s()
        check(index)
        wall.append(time.perf_counter() - began)
        cpu.append(_cpu_s() - used)
    result = {
        "inproc_cpu_ms": 1000 * (_cpu_s() - total) / checks,
        "inproc_cpu_median_ms": 1000 * statistics.median(cpu),
        "inproc_wall_ms": 1000 * statistics.median(wall),
        "recognized": recognized / len(audio),
        "blas_threads": [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"],
    }
    print(json.dumps(result))


def child_client(url: str, key: str, clips: Path, checks: int) -> None:
    post_checks(url, key, clips, checks, 4)


# (stage, file suffix, qualified name): inclusive CPU; the request stages do not overlap.
_REQUEST_STAGES = (
    ("multipart parsing (Starlette)", "starlette/requests.py", "Request._get_form"),
    ("authentication (API key lookup)", "voxguard/api/deps.py", "get_principal"),
    ("route: read upload, check, metrics", "voxguard/api/routes/recognition.py", "check"),
    ("response: validate + JSON", "fastapi/routing.py", "serialize_response"),
    ("commit (unit of work)", "sqlalchemy/orm/session.py", "Session.commit"),
    ("logging (records handled)", "logging/__init__.py", "Logger.handle"),
)
_CHECK_STAGES = (
    ("decode", "voxguard/audio/decode.py", "load_audio"),
    ("VAD + quality (front end)", "voxguard/audio/analysis.py", "AudioFrontEnd.analyze_clip"),
    ("speaker embedding", "voxguard/speaker/engine.py", "SpeakerEngine.embed"),
    (
        "identification (gallery + names)",
        "voxguard/services/recognition.py",
        "RecognitionService.identify_embedding",
    ),
    ("behavior profile", "voxguard/behavior/profile.py", "extract_profile"),
    ("spoof detection", "voxguard/services/recognition.py", "spoof_check"),
    (
        "  of which VAD, speech, windows",
        "voxguard/spoof/detector.py",
        "SpoofDetector.speech_windows",
    ),
    ("risk", "voxguard/risk/engine.py", "assess"),
    ("event row", "voxguard/services/recognition.py", "RecognitionService._event"),
)
_PACKAGES = (
    ("onnxruntime", "onnxruntime"),
    ("numpy / scipy", "numpy"),
    ("numpy / scipy", "scipy"),
    ("SQLAlchemy + sqlite3", "sqlalchemy"),
    ("SQLAlchemy + sqlite3", "sqlite3"),
    ("FastAPI / Starlette / uvicorn / anyio", "fastapi"),
    ("FastAPI / Starlette / uvicorn / anyio", "starlette"),
    ("FastAPI / Starlette / uvicorn / anyio", "uvicorn"),
    ("FastAPI / Starlette / uvicorn / anyio", "anyio"),
    ("FastAPI / Starlette / uvicorn / anyio", "h11"),
    ("FastAPI / Starlette / uvicorn / anyio", "multipart"),
    ("pydantic", "pydantic"),
    ("logging (logging, structlog)", "structlog"),
    ("logging (logging, structlog)", "logging/"),
    ("av (decoder)", "/av/"),
    ("VoxGuard's own Python", "voxguard/"),
)


def _package(module: str) -> str:
    for label, needle in _PACKAGES:
        if needle in module:
            return label
    return "other (stdlib, asyncio, threads, ...)"


def child_profile(key: str, clips: Path, checks: int, top: int) -> None:
    """This tree's app under uvicorn, in this process, under yappi; a client process posts."""
    import uvicorn
    import yappi

    from voxguard.api.app import create_app
    from voxguard.config import get_settings
    from voxguard.logs import configure_logging

    settings = get_settings()
    log_config = configure_logging(settings.log_format, settings.log_level)
    port = free_port()
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_config=log_config, access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.1)
    url = f"http://127.0.0.1:{port}"
    client = [sys.executable, __file__, "--child", "client", url, key, str(clips)]
    subprocess.run([*client, "8"], check=True)  # warm-up
    yappi.set_clock_type("cpu")
    began = _cpu_s()
    yappi.start(builtins=True, profile_threads=True)
    subprocess.run([*client, str(checks)], check=True)
    yappi.stop()
    process_ms = 1000 * (_cpu_s() - began) / checks
    server.should_exit = True
    thread.join(30)

    stats = list(yappi.get_func_stats())
    threads_ms = 1000 * sum(t.ttot for t in yappi.get_thread_stats()) / checks

    def inclusive(suffix: str, name: str) -> float:
        return sum(s.ttot for s in stats if s.module.endswith(suffix) and s.name == name) * (
            1000 / checks
        )

    def where(s: Any) -> str:
        module = s.module.split("site-packages/")[-1].split("/src/")[-1]
        return f"{module}:{s.lineno} {s.name}"

    packages: dict[str, float] = {}
    for s in stats:
        label = _package(s.module)
        packages[label] = packages.get(label, 0.0) + s.tsub * 1000 / checks
    result = {
        "process_ms": process_ms,
        "python_threads_ms": threads_ms,
        "request": [(label, inclusive(f, n)) for label, f, n in _REQUEST_STAGES],
        "check": [(label, inclusive(f, n)) for label, f, n in _CHECK_STAGES],
        "service": inclusive("voxguard/services/recognition.py", "RecognitionService.check"),
        "packages": sorted(packages.items(), key=lambda kv: -kv[1]),
        "inclusive": [
            (where(s), s.ttot * 1000 / checks, s.ncall / checks)
            for s in sorted(stats, key=lambda s: -s.ttot)[:top]
        ],
        "exclusive": [
            (where(s), s.tsub * 1000 / checks, s.ncall / checks)
            for s in sorted(stats, key=lambda s: -s.tsub)[:top]
        ],
    }
    print(json.dumps(result))


def run_child(env: dict[str, str], *args: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode:
        raise SystemExit(f"child {args[0]} failed:\n{out.stdout}\n{out.stderr}")
    parsed: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return parsed


# --- the report ----------------------------------------------------------------------------


def print_profile(p: dict[str, Any], label: str, cpu_ms: float | None) -> None:
    print(
        f"\nProfile (yappi, CPU clock, {label}, checks 4 at a time): "
        f"{p['process_ms']:.1f} ms of process CPU per check under the profiler "
        f"({p['python_threads_ms']:.1f} ms in Python threads)"
        + (f"; {cpu_ms:.1f} ms without it" if cpu_ms else "")
    )
    total = p["process_ms"]
    native = total - p["python_threads_ms"]
    print("\n| where (inclusive CPU per check) | ms | share |\n| --- | ---: | ---: |")
    for label, ms in p["request"]:
        print(f"| {label} | {ms:.1f} | {ms / total:.0%} |")
    print(f"| **of the route: `RecognitionService.check`** | **{p['service']:.1f}** | |")
    for label, ms in p["check"]:
        print(f"| {label} | {ms:.1f} | {ms / total:.0%} |")
    rest = p["python_threads_ms"] - sum(ms for _, ms in p["request"])
    print(f"| rest: event loop, HTTP, middleware, hand-offs | {rest:.1f} | {rest / total:.0%} |")
    print(f"| threads outside Python (BLAS workers) | {native:.1f} | {native / total:.0%} |")
    print("\n| package (exclusive CPU per check) | ms |\n| --- | ---: |")
    for label, ms in p["packages"]:
        print(f"| {label} | {ms:.1f} |")
    for kind in ("inclusive", "exclusive"):
        print(
            f"\n| top functions, {kind} | ms per check | calls per check |\n| --- | ---: | ---: |"
        )
        for name, ms, calls in p[kind]:
            print(f"| `{name}` | {ms:.2f} | {calls:.1f} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--checks", type=int, default=60, help="timed checks per measurement")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--variant",
        nargs="+",
        action="append",
        default=[],
        metavar=("LABEL SRC", "NAME=VALUE"),
        help="another build to measure first: a label, a src dir for PYTHONPATH, and "
        "environment variables; repeatable; the first one is the baseline",
    )
    parser.add_argument("--profile-checks", type=int, default=40)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--profile-only", action="store_true")
    parser.add_argument(
        "--profile-env", nargs="*", default=[], metavar="NAME=VALUE", help="for the profile"
    )
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        if kind == "inprocess":
            child_inprocess(Path(rest[0]), int(rest[1]))
        elif kind == "client":
            child_client(rest[0], rest[1], Path(rest[2]), int(rest[3]))
        else:
            child_profile(rest[0], Path(rest[1]), int(rest[2]), int(rest[3]))
        return 0

    work = Path(tempfile.mkdtemp(prefix="vg-cpu-"))
    clips = work / "clips"
    clips.mkdir()
    write_clips(clips)
    env = {k: v for k, v in os.environ.items() if k not in _THREAD_ENV and k != "PYTHONPATH"}
    env |= {
        "VOXGUARD_DATA_DIR": str(work / "data"),
        "VOXGUARD_API_HOST": "127.0.0.1",
        "VOXGUARD_RATE_LIMIT_PER_MINUTE": "1000000",
        "VOXGUARD_RATE_LIMIT_BURST": "100000",
    }
    for name in ("VOXGUARD_DATABASE_URL", "VOXGUARD_QUEUE_URL", "VOXGUARD_BLAS_THREADS"):
        env.pop(name, None)
    key = enroll(env, clips)

    variants: list[tuple[str, dict[str, str]]] = []
    for label, src, *assignments in args.variant:
        extra = dict(a.split("=", 1) for a in assignments)
        variants.append((label, {"PYTHONPATH": str(Path(src).resolve())} | extra))
    variants += [
        (
            "this tree, VOXGUARD_BLAS_THREADS=0 (BLAS threads: library default)",
            {"VOXGUARD_BLAS_THREADS": "0"},
        ),
        ("this tree as shipped", {}),
    ]
    results: dict[str, dict[str, Any]] = {}
    if not args.profile_only:
        for _ in range(args.rounds):
            for label, extra in variants:
                run_env = env | extra
                got = run_child(run_env, "inprocess", str(clips), str(args.checks))
                got |= http_cpu(run_env, key, clips, args.checks)
                print(label, json.dumps(got), flush=True)
                prior = results.setdefault(label, got)
                for name, value in got.items():
                    if name.endswith("_ms"):
                        prior[name] = min(prior[name], value)

        names = (
            ("inproc_cpu_ms", "in-process CPU"),
            ("inproc_wall_ms", "in-process wall (median)"),
            ("http1_cpu_ms", "HTTP CPU, 1 at a time"),
            ("http1_wall_ms", "HTTP wall, 1 at a time"),
            ("http4_cpu_ms", "HTTP CPU, 4 at a time"),
            ("http4_wall_ms", "HTTP wall per check, 4 at a time"),
        )
        print(
            "\n| variant (ms per check, lower of the rounds) | "
            + " | ".join(n for _, n in names)
            + " |\n| --- |"
            + " ---: |" * len(names)
        )
        base = results[variants[0][0]]
        for label, _ in variants:
            r = results[label]
            cells = " | ".join(
                f"{r[k]:.1f}" + ("" if r is base else f" ({r[k] / base[k]:.2f})") for k, _ in names
            )
            print(f"| {label} | {cells} |")
        for label, _ in variants:
            r = results[label]
            print(
                f"{label}: HTTP CPU / in-process CPU {r['http1_cpu_ms'] / r['inproc_cpu_ms']:.2f} "
                f"(1 at a time), {r['http4_cpu_ms'] / r['inproc_cpu_ms']:.2f} (4 at a time); "
                f"BLAS threads {r['blas_threads']}; recognized {r['recognized']:.0%}"
            )

    profile_env = env | dict(a.split("=", 1) for a in args.profile_env)
    profile = run_child(
        profile_env, "profile", key, str(clips), str(args.profile_checks), str(args.top)
    )
    shipped = None if args.profile_env else results.get("this tree as shipped", {})
    label = (
        "this tree, " + " ".join(args.profile_env) if args.profile_env else "this tree as shipped"
    )
    print_profile(profile, label, shipped.get("http4_cpu_ms") if shipped else None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
