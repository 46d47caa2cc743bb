"""Latency of decode + VAD + embedding of a 4 s clip on one thread, vs Resemblyzer.

    .venv/bin/python bench/speaker_speed.py [--repeats 30]

VoxGuard: ``SpeakerEngine.embed_source`` on WAV bytes (PyAV decode, Silero VAD, then each
bundled speaker model: CAM++ on Kaldi filterbanks, GE2E on a numpy mel; onnxruntime).
Reference, same run: Resemblyzer's ``preprocess_wav`` on the same file
(librosa load, webrtcvad trimming) + ``embed_utterance`` (torch), torch limited to one thread.
Median wall time over the repeats after one warm-up call each. Target: <= 30 ms.
Both pipelines run under ``threadpool_limits(1)``: numpy's OpenBLAS (librosa's mel in the
reference) would otherwise start threads of its own, and the target is for one thread.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from threadpoolctl import threadpool_limits

from voxguard.audio.decode import load_audio
from voxguard.audio.wav import wav_bytes
from voxguard.config import Settings
from voxguard.speaker.engine import SPEAKER_MODELS, SpeakerEngine

ROOT = Path(__file__).resolve().parents[1]
CLIP = ROOT.parent / "shared" / "data" / "librispeech" / "103-1240-0000.flac"


def median_ms(call: Callable[[], object], repeats: int) -> float:
    call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    with threadpool_limits(limits=1):
        run()


def run() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    clip = load_audio(CLIP).samples[16000 : 16000 * 5]
    data = wav_bytes(clip, 16000)
    times = {}
    for model in SPEAKER_MODELS:  # the default first
        engine = SpeakerEngine(Settings(inference_threads=1, speaker_model=model))
        times[model] = median_ms(lambda e=engine: e.embed_source(data), args.repeats)
        print(
            f"VoxGuard ({model}) decode+VAD+embed, 4 s clip, 1 thread: {times[model]:.1f} ms "
            "(target <= 30 ms)"
        )
    print(f"ratio campplus / ge2e: {times['campplus'] / times['ge2e']:.2f}")
    try:
        import torch
        from resemblyzer import VoiceEncoder, preprocess_wav
    except ImportError:
        print("Resemblyzer reference not installed (export extra): no ratio")
        return
    torch.set_num_threads(1)
    encoder = VoiceEncoder(device="cpu", verbose=False)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "clip.wav"
        path.write_bytes(data)
        ref = median_ms(lambda: encoder.embed_utterance(preprocess_wav(path)), args.repeats)
    print(f"Resemblyzer preprocess_wav+embed_utterance, same clip, 1 thread: {ref:.1f} ms")
    for model, value in times.items():
        print(f"ratio VoxGuard ({model}) / Resemblyzer: {value / ref:.2f}")


if __name__ == "__main__":
    main()
