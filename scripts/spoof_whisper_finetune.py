"""Whisper tiny.en's stem and first block fine-tuned end to end, alone and in the ensemble
(issue 18).

    OMP_NUM_THREADS=1 .venv/bin/python scripts/spoof_whisper_finetune.py featurise \\
        --realworld /work/realworld --cache artifacts/cache_realworld.npz \\
        --audio artifacts/realworld_waves --jobs 2
    OMP_NUM_THREADS=2 .venv/bin/python scripts/spoof_whisper_finetune.py run \\
        --cache artifacts/cache_realworld.npz --audio artifacts/realworld_waves \\
        --out artifacts/whisper_finetune.json

Rule and results: docs/models/experiments/2026-12-07-whisper-fine-tuning.md.

``featurise`` builds the compact cache exactly as ``python -m voxguard.training.detector.data
--compact --jobs N`` does (the same chunks, seeds and features), and also saves each chunk's
window audio (16-bit, level-normalised) as ``AUDIO/chunkNNN.npy``: the compact cache drops
it, and the whole corpus's window audio beside its spectrograms would not fit in memory.

``run`` is the CNN experiment's ``sources-2fold`` (scripts/spoof_cnn_experiment.py) with the
fine-tuned prefix in place of the CNN.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional

from spoof_cnn_experiment import Fitted, compare_on_two_folds
from voxguard.spoof.features import FeatureParams, power_spectrogram
from voxguard.training.detector import data
from voxguard.training.detector.approaches import _source_weights
from voxguard.training.detector.encoder import WhisperPrefix, load_whisper_prefix
from voxguard.training.detector.protocols import (
    ensure_features,
)

STEPS = 800
BATCH = 32
WARMUP = 50
LR_ENCODER = 3e-5
LR_HEAD = 1e-3
SPREAD_WINDOWS = 4000


# --- featurise -------------------------------------------------------------------------------


def _chunk(task: tuple[list[data.Clip], int, Path, int]) -> data.FeatureCache:
    """One chunk as ``data._featurise_chunk`` makes it (compact), its window audio saved."""
    clips, seed, audio_dir, k = task
    params = FeatureParams()
    cache = data.build_cache(clips, params, 1, seed)
    np.save(audio_dir / f"chunk{k:03d}.npy", cache.waves)
    return data.compact_views(cache, params)


def featurise(args: argparse.Namespace) -> None:
    clips = data.realworld_clips(args.realworld)
    chunks = data.clip_chunks(len(clips))
    args.audio.mkdir(parents=True, exist_ok=True)
    tasks = [(clips[c[0] : c[-1] + 1], args.seed + k, args.audio, k) for k, c in enumerate(chunks)]
    data.compile_librosa_kernels(FeatureParams())
    with ProcessPoolExecutor(args.jobs, max_tasks_per_child=1) as pool:
        cache = data.concat_caches(list(pool.map(_chunk, tasks)))
    args.cache.parent.mkdir(parents=True, exist_ok=True)
    cache.save(args.cache)


def load_audio(audio_dir: Path, windows: int) -> np.ndarray:
    """The saved window audio of every chunk, in cache order."""
    parts = sorted(audio_dir.glob("chunk*.npy"))
    out = np.empty((windows, FeatureParams().window_samples), dtype=np.int16)
    at = 0
    for part in parts:
        block = np.load(part)
        out[at : at + len(block)] = block
        at += len(block)
    if at != windows:
        raise ValueError(f"{audio_dir} holds {at} windows, the cache {windows}: rebuild both")
    return out


# --- the fine-tuned prefix -------------------------------------------------------------------


class FineTuned(nn.Module):
    """Whisper's stem and first block, every weight trainable, then a layer norm of the pooled
    mean and standard deviation and a linear logit."""

    def __init__(self, prefix: WhisperPrefix):
        super().__init__()
        for p in prefix.params.values():
            p.data = p.data.float()
            p.requires_grad_(True)
        self.prefix = prefix.train()
        self.norm = nn.LayerNorm(768)
        self.head = nn.Linear(768, 1)

    def forward(self, power: torch.Tensor) -> torch.Tensor:
        return self.head(self.norm(self.prefix(power))).squeeze(1)


def _power(audio: np.ndarray, params: FeatureParams) -> torch.Tensor:
    windows = audio.astype(np.float32) / 32768.0
    return torch.as_tensor(np.stack([power_spectrogram(w, params) for w in windows]))


def fine_tune(
    audio: np.ndarray,
    windows: np.ndarray,
    labels: np.ndarray,
    weights: np.ndarray,
    steps: int = STEPS,
) -> tuple[FineTuned, list[float]]:
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    params = FeatureParams()
    model = FineTuned(load_whisper_prefix())
    optimiser = torch.optim.AdamW(
        [
            {"params": list(model.prefix.parameters()), "lr": LR_ENCODER},
            {
                "params": list(model.norm.parameters()) + list(model.head.parameters()),
                "lr": LR_HEAD,
            },
        ],
        weight_decay=0.01,
    )
    base = [g["lr"] for g in optimiser.param_groups]
    draws = rng.choice(windows.size, size=steps * BATCH, p=weights / weights.sum())
    losses = []
    t0 = time.time()
    for step in range(steps):
        scale = (
            (step + 1) / WARMUP
            if step < WARMUP
            else 0.5 * (1 + math.cos(math.pi * (step - WARMUP) / max(1, steps - WARMUP)))
        )
        for group, lr in zip(optimiser.param_groups, base, strict=True):
            group["lr"] = lr * scale
        pick = draws[step * BATCH : (step + 1) * BATCH]
        x = _power(audio[windows[pick]], params)
        y = torch.as_tensor(labels[pick], dtype=torch.float32)
        loss = functional.binary_cross_entropy_with_logits(model(x), y)
        optimiser.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimiser.step()
        losses.append(loss.item())
        if step % 100 == 0:
            print(
                f"  step {step}: loss {np.mean(losses[-100:]):.3f}, {time.time() - t0:.0f} s",
                file=sys.stderr,
                flush=True,
            )
    return model.eval(), losses


@torch.no_grad()
def predict(model: FineTuned, audio: np.ndarray, windows: np.ndarray) -> np.ndarray:
    params = FeatureParams()
    out = [
        model(_power(audio[windows[k : k + 64]], params)).numpy()
        for k in range(0, windows.size, 64)
    ]
    return np.concatenate(out) if out else np.zeros(0, np.float32)


# --- run -------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> None:
    torch.set_num_threads(args.threads)
    cache = ensure_features(args.cache, ["fusion_ensemble", "baseline"])
    audio = load_audio(args.audio, len(cache.window_clip))
    losses: dict[str, list[float]] = {}

    def fit(fold: str, tr: np.ndarray, labels: np.ndarray) -> Fitted:
        weights = _source_weights(cache, tr, labels)
        model, losses[fold] = fine_tune(audio, tr, labels, weights, args.steps)
        sample = np.random.default_rng(0).choice(tr, size=min(SPREAD_WINDOWS, tr.size))
        spread = float(predict(model, audio, sample).std()) + 1e-6
        first, last = np.mean(losses[fold][:50]), np.mean(losses[fold][-50:])
        loss = f"loss {first:.3f} -> {last:.3f}"
        return lambda windows: predict(model, audio, windows), spread, loss

    out = compare_on_two_folds(cache, "finetuned", fit)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps({"protocol": "sources-2fold", "steps": args.steps, "losses": losses, **out})
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    sub = ap.add_subparsers(dest="command", required=True)
    feat = sub.add_parser("featurise", help="the compact cache and the window audio")
    feat.add_argument("--realworld", type=Path, required=True)
    feat.add_argument("--cache", type=Path, required=True)
    feat.add_argument("--audio", type=Path, required=True)
    feat.add_argument("--seed", type=int, default=0)
    feat.add_argument("--jobs", type=int, default=2)
    go = sub.add_parser("run", help="sources-2fold with the fine-tuned prefix")
    go.add_argument("--cache", type=Path, required=True)
    go.add_argument("--audio", type=Path, required=True)
    go.add_argument("--out", type=Path, default=Path("artifacts/whisper_finetune.json"))
    go.add_argument("--threads", type=int, default=2)
    go.add_argument(
        "--steps", type=int, default=STEPS, help="training steps of 32 windows per fold"
    )
    args = ap.parse_args()
    if args.command == "featurise":
        featurise(args)
    else:
        run(args)


if __name__ == "__main__":
    main()
