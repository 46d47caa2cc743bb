"""A tiny world of demo pages built per test: git repositories with a page and WAV files,
rule files for them, and a holdout guard that runs the real guard code on our own list."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import SHARED_DATA
from voxguard.audio.types import FloatArray
from voxguard.audio.wav import wav_bytes
from voxguard.training.demopages.dedupe import envelope

RATE = 16000
GUARD_SCRIPT = SHARED_DATA.parent / "holdout-guard" / "guard.py"
_GIT_ENV = {
    "GIT_AUTHOR_NAME": "fixture",
    "GIT_AUTHOR_EMAIL": "fixture@example.org",
    "GIT_COMMITTER_NAME": "fixture",
    "GIT_COMMITTER_EMAIL": "fixture@example.org",
    "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z",
    "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
}


def syllables(seconds: float, seed: int) -> FloatArray:
    """A loudness envelope like speech: bursts of 0.12-0.35 s with pauses between."""
    rng = np.random.default_rng([seed, 1])
    n = int(seconds * RATE)
    env = np.zeros(n, dtype=np.float64)
    i = int(0.1 * RATE)
    while i < n:
        on = int(rng.uniform(0.12, 0.35) * RATE)
        env[i : i + on] = np.hanning(on)[: max(0, min(on, n - i))] * rng.uniform(0.4, 1.0)
        i += on + int(rng.uniform(0.05, 0.3) * RATE)
    return env.astype(np.float32)


def voice(env: FloatArray, seed: int, f0: float = 120.0) -> FloatArray:
    """Harmonics under ``env``: a different ``seed`` gives new phases and a new pitch
    wobble, the way a vocoder re-synthesises the same utterance."""
    rng = np.random.default_rng([seed, 2])
    t = np.arange(env.size) / RATE
    pitch = f0 * (1 + 0.08 * np.sin(2 * np.pi * rng.uniform(0.3, 0.8) * t + rng.uniform(0, 6)))
    phase = 2 * np.pi * np.cumsum(pitch) / RATE
    carrier = sum(np.sin(k * phase + rng.uniform(0, 2 * np.pi)) / k for k in range(1, 9))
    noise = 1e-3 * rng.standard_normal(env.size)
    return (0.25 * carrier * env + noise).astype(np.float32)


def speech(seconds: float, seed: int) -> FloatArray:
    return voice(syllables(seconds, seed), seed)


def resampled(x: FloatArray, rate: int) -> FloatArray:
    t = np.arange(int(x.size * rate / RATE)) * RATE / rate
    return np.interp(t, np.arange(x.size), x).astype(np.float32)


@dataclass
class Repo:
    name: str
    git_dir: Path
    commit: str


def make_repo(sources: Path, name: str, files: dict[str, bytes]) -> Repo:
    """``git init`` a repository ``owner+name`` under ``sources`` with ``files``, committed
    with fixed dates so its commit id is the same on every run."""
    work = sources / name.replace("/", "+")
    work.mkdir(parents=True)
    for rel, data in files.items():
        (work / rel).parent.mkdir(parents=True, exist_ok=True)
        (work / rel).write_bytes(data)
    env = {**os.environ, **_GIT_ENV}
    commit = ["-c", "commit.gpgsign=false", "commit", "-q", "-m", "fixture"]
    for args in (["init", "-q"], ["add", "-A"], commit):
        subprocess.run(["git", *args], cwd=work, env=env, check=True)
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=work, capture_output=True, text=True, check=True
    ).stdout.strip()
    return Repo(name, work / ".git", head)


def blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def write_rules(folder: Path, repo: Repo, body: str, licence: str = "none stated") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    head = (
        f'repo = "{repo.name}"\ncommit = "{repo.commit}"\nlicence = "{licence}"\n'
        f'pages = ["index.html"]\nlanguage = "en"\n'
    )
    (folder / f"{repo.name.replace('/', '+')}.toml").write_text(head + body)


def make_guard(folder: Path, repos: list[str], blobs: list[str], clips: list[FloatArray]) -> Path:
    """The shared guard's code with a reserved list of our own making."""
    if not GUARD_SCRIPT.is_file():
        pytest.skip(f"holdout guard not found at {GUARD_SCRIPT}")
    folder.mkdir(parents=True)
    shutil.copy(GUARD_SCRIPT, folder / "guard.py")
    meta = {
        "format": "voxguard-holdout-guard/1",
        "repo_sha256": [hashlib.sha256(r.lower().encode()).hexdigest() for r in repos],
        "git_blobs": blobs,
        "envelope": {"sample_rate": RATE, "frame": 320, "feature": "fixture"},
    }
    (folder / "reserved.json").write_text(json.dumps(meta))
    envs = [envelope(c) for c in clips]
    np.savez(
        folder / "envelopes.npz",
        lengths=np.array([e.size for e in envs], dtype=np.int64),
        frames=np.concatenate(envs).astype(np.float16),
    )
    return folder


def wav(x: FloatArray, rate: int = RATE) -> bytes:
    return wav_bytes(x, rate)
