"""A full check of a 4 s clip, stage by stage, on one thread, against the named peer AASIST-L.

    git clone <a copy of github.com/clovaai/aasist> /tmp/aasist     # MIT; not vendored here
    .venv/bin/python bench/check_speed.py --aasist /tmp/aasist [--repeats 30]

VoxGuard: decode (WAV bytes), VAD and quality, speaker embedding, spoof detection, behavior
profile, risk, and the whole ``RecognitionService.check`` with its SQLite event (database
included); then the same stages as the service marks them inside the full check (the hooks
``/metrics`` reports), where the database (statements and commit) and the 1:N search are
timed too. Peer, same run, same clip, one thread: AASIST-L (``config/AASIST-L.conf``, weights
``models/weights/AASIST-L.pth`` from the checkout) scoring the 4 s clip (64,600 samples), in
torch. Medians over the repeats; the ratio is AASIST-L's time over VoxGuard's full check.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before numpy, onnxruntime and torch load

import argparse
import importlib.util
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "librispeech"


def _median_ms(run: Callable[[], object], repeats: int) -> float:
    run()  # warm-up
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        run()
        times.append(time.perf_counter() - began)
    return 1000 * statistics.median(times)


def _aasist(checkout: Path, clip: np.ndarray, repeats: int) -> float:
    import torch

    torch.set_num_threads(1)
    spec = importlib.util.spec_from_file_location("aasist_model", checkout / "models" / "AASIST.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    config = json.loads((checkout / "config" / "AASIST-L.conf").read_text())["model_config"]
    model = module.Model(config)
    state = torch.load(checkout / "models" / "weights" / "AASIST-L.pth", map_location="cpu")
    model.load_state_dict(state)
    model.eval()
    x = torch.from_numpy(clip[: config["nb_samp"]].astype(np.float32))[None, :]

    def score() -> object:
        with torch.no_grad():
            return model(x)

    return _median_ms(score, repeats)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--aasist", type=Path, required=True, help="a checkout of clovaai/aasist")
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    os.environ.setdefault("VOXGUARD_DATA_DIR", tempfile.mkdtemp(prefix="vg-speed-"))
    os.environ.setdefault("VOXGUARD_INFERENCE_THREADS", "1")

    from voxguard.api.metrics import time_database
    from voxguard.audio import load_audio
    from voxguard.audio.wav import wav_bytes
    from voxguard.behavior import extract_profile
    from voxguard.config import get_settings
    from voxguard.risk import RiskInputs, assess
    from voxguard.services.audio_input import AudioInput
    from voxguard.services.engines import require_speaker, require_spoof
    from voxguard.services.recognition import RecognitionService
    from voxguard.services.runtime import build_runtime
    from voxguard.services.stages import observing
    from voxguard.store.db import unit_of_work

    reader = sorted(SHARED.glob("*.flac"), key=lambda p: -p.stat().st_size)[0]
    clip = load_audio(reader).samples[16000 : 16000 * 5].astype(np.float32)
    data = wav_bytes(clip, 16000)
    runtime = build_runtime(get_settings())
    speaker = require_speaker(runtime.speaker)
    spoof = require_spoof(runtime.spoof)
    with unit_of_work(runtime.store.sessions) as session:
        from voxguard.services.speakers import EnrollmentService

        enroll = AudioInput("enroll.wav", wav_bytes(load_audio(reader).samples[16000 * 5 :], 16000))
        EnrollmentService(runtime, session, "bench").enroll("reader", [enroll])
    analyzed = runtime.front_end.analyze(data)
    time_database(runtime.store)
    inside: list[dict[str, float]] = []  # seconds per stage, one dict per full check

    def full_check() -> object:
        spent: dict[str, float] = {}

        def observe(name: str, seconds: float) -> None:
            spent[name] = spent.get(name, 0.0) + seconds

        # The observer encloses the unit of work, so that its commit is timed too.
        with observing(observe), unit_of_work(runtime.store.sessions) as session:
            checked = RecognitionService(runtime, session, "bench").check(AudioInput("c.wav", data))
        inside.append(spent)
        return checked

    stages = {
        "decode": lambda: load_audio(data),
        "VAD + quality": lambda: runtime.front_end.analyze(data),
        "speaker embedding": lambda: speaker.embed(analyzed),
        "spoof detection": lambda: spoof.detect(analyzed),
        "behavior profile": lambda: extract_profile(analyzed.speech),
        "risk": lambda: assess(RiskInputs(True, 0.9, 0.8, 0.2, 0.9), runtime.policy),
    }
    print("VoxGuard, 4 s clip, one thread, median of", args.repeats)
    for name, run in stages.items():
        print(f"  {name:<20} {_median_ms(run, args.repeats):7.2f} ms")
    full = _median_ms(full_check, args.repeats)
    print(f"  {'full check (+ DB)':<20} {full:7.1f} ms")
    print("inside the full check (stage hooks), median per check")
    timed = inside[1:]  # the warm-up left out, as _median_ms leaves it out
    for name in sorted({name for spent in timed for name in spent}):
        median = statistics.median(spent.get(name, 0.0) for spent in timed)
        print(f"  {name:<20} {1000 * median:7.2f} ms")
    peer = _aasist(args.aasist, clip, args.repeats)
    print(f"AASIST-L (peer, same run), 4 s clip, one thread: {peer:.1f} ms")
    print(f"ratio AASIST-L / VoxGuard full check: {peer / full:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
