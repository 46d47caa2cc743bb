"""How far behind a live call ``/v1/stream``'s analysis runs, over a 10-minute call.

    .venv/bin/python bench/stream_lag.py [--minutes 10] [--realtime]

A call is composed from LibriSpeech readers taking turns (``../shared/data``), fed to
``LiveAnalysis`` in 0.1 s chunks. Each update's compute time is its lag behind the audio it
reports on (plus the 1 s it waits to collect that audio); the target is under 1 s. With
``--realtime`` the chunks arrive at the pace of a live call (10 minutes of wall time), so
the measured lag includes waiting for the CPU; without it, the chunks arrive as fast as they
are processed, which measures compute alone. Baseline, in the same run: the offline
``voxguard analyze`` of the same call (``AnalysisService``), as a real-time factor beside the
stream's.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from voxguard.audio import load_audio
from voxguard.audio.wav import wav_bytes

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "librispeech"
RATE = 16000


def compose(minutes: float, speakers: int = 3, turn_s: float = 6.0) -> np.ndarray:
    files = sorted(SHARED.glob("*.flac"), key=lambda p: -p.stat().st_size)
    voices = [load_audio(f).samples for f in files[: speakers * 8]]
    parts, total, index = [], 0, 0
    gap = np.zeros(int(0.5 * RATE), np.float32)
    while total < minutes * 60 * RATE:
        voice = voices[index % len(voices)]
        start = (index // len(voices)) * int(turn_s * RATE) % max(voice.size - RATE, 1)
        piece = voice[start : start + int(turn_s * RATE)]
        parts += [0.3 * piece / max(float(np.abs(piece).max()), 1e-6), gap]
        total += piece.size + gap.size
        index += 1
    return np.concatenate(parts)[: int(minutes * 60 * RATE)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--realtime", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("VOXGUARD_DATA_DIR", tempfile.mkdtemp(prefix="vg-bench-"))
    os.environ.setdefault("VOXGUARD_MAX_DURATION_S", str(args.minutes * 60 + 5))
    from voxguard.config import get_settings
    from voxguard.services.analysis import AnalysisService
    from voxguard.services.audio_input import AudioInput
    from voxguard.services.runtime import build_runtime
    from voxguard.services.streaming import LiveAnalysis
    from voxguard.store.db import unit_of_work

    runtime = build_runtime(get_settings())
    call = compose(args.minutes)
    live = LiveAnalysis(runtime, "bench")
    step = int(0.1 * RATE)
    compute: list[float] = []
    lags: list[float] = []
    began = time.monotonic()
    for index, first in enumerate(range(0, call.size, step)):
        if args.realtime:
            time.sleep(max(0.0, began + (index + 1) * 0.1 - time.monotonic()))
        for update in live.feed(call[first : first + step]):
            compute.append(update.compute_s)
            if args.realtime:  # wall clock now minus when the reported audio had arrived
                lags.append(time.monotonic() - (began + update.t_s))
    finished = time.monotonic()
    live.finish("bench-call.wav")
    final_s = time.monotonic() - finished

    offline_began = time.monotonic()
    with unit_of_work(runtime.store.sessions) as session:
        AnalysisService(runtime, session, "bench").analyze(
            AudioInput("bench-call.wav", wav_bytes(call, RATE))
        )
    offline_s = time.monotonic() - offline_began

    audio_s = call.size / RATE
    q = statistics.quantiles(compute, n=100)
    print(f"call: {audio_s / 60:.1f} min, {len(compute)} updates (one per second of audio)")
    print(f"update compute (s): p50 {q[49]:.3f}  p95 {q[94]:.3f}  max {max(compute):.3f}")
    if lags:
        lq = statistics.quantiles(lags, n=100)
        print(
            f"lag behind the live audio (s): p50 {lq[49]:.3f}  p95 {lq[94]:.3f}  "
            f"max {max(lags):.3f}"
        )
    print(f"stream real-time factor (compute / audio): {sum(compute) / audio_s:.3f}")
    print(f"final analysis when the call ends: {final_s:.1f} s")
    print(
        f"baseline, offline analyze of the same call: {offline_s:.1f} s, real-time factor "
        f"{offline_s / audio_s:.3f}; stream / offline compute ratio "
        f"{sum(compute) / offline_s:.2f}"
    )
    target = max(lags) if lags else max(compute)
    print(f"target: lag under 1 s -> {'met' if target < 1.0 else 'missed'} ({target:.3f} s)")


if __name__ == "__main__":
    main()
