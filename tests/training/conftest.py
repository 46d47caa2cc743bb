"""Fixtures for the training-data tests: a tiny copy of shared/data and a fake generator."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.conftest import shared_data
from voxguard.audio import TARGET_SAMPLE_RATE
from voxguard.audio.types import FloatArray
from voxguard.training.generators.base import Job, PlanContext, pick_sources


@pytest.fixture
def tiny_data(tmp_path: Path) -> Path:
    """Two LibriSpeech readers and two FSDD speakers' first digits, linked into a folder
    shaped like shared/data, so a build loads in a second."""
    libri, fsdd = shared_data("librispeech"), shared_data("fsdd")
    root = tmp_path / "data"
    (root / "librispeech").mkdir(parents=True)
    (root / "fsdd").mkdir()
    for path in sorted(libri.glob("*.flac"))[:2]:
        (root / "librispeech" / path.name).symlink_to(path)
    for speaker in ("jackson", "theo"):
        for digit in range(10):
            name = f"{digit}_{speaker}_0.wav"
            (root / "fsdd" / name).symlink_to(fsdd / name)
    return root


class CopyVocoder:
    """A stand-in spoof generator: returns its genuine source at 22.05 kHz, attenuated.
    Real audio in, so VAD and augmentation behave as they do on vocoder output."""

    name = "copy"
    family = "vocoder"
    license = "test"
    default_count = 3

    def unavailable_reason(self) -> str | None:
        return None

    def plan(self, count: int, rng: np.random.Generator, context: PlanContext) -> list[Job]:
        units = pick_sources(rng, context.sources, count)
        return [Job(i, "copy", u.speaker, u.text_id, source=u) for i, u in enumerate(units)]

    def synthesize(self, job: Job) -> tuple[FloatArray, int]:
        assert job.source is not None
        x = job.source.samples
        t = np.arange(int(x.size * 22050 / TARGET_SAMPLE_RATE)) * TARGET_SAMPLE_RATE / 22050
        y = np.interp(t, np.arange(x.size), x) * 0.3
        return y.astype(np.float32), 22050
