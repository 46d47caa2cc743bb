"""Genuine speech passed through unchanged, so it takes the same path as every spoof."""

from __future__ import annotations

import numpy as np

from voxguard.audio import TARGET_SAMPLE_RATE
from voxguard.audio.types import FloatArray
from voxguard.training.generators.base import Job, PlanContext
from voxguard.training.sources import FSDD_LICENSE, LIBRISPEECH_LICENSE


class Bonafide:
    family = "bonafide"
    default_count = 0  # 0 keeps every unit

    def __init__(self, corpus: str) -> None:
        self.name = corpus
        self.license = LIBRISPEECH_LICENSE if corpus == "librispeech" else FSDD_LICENSE

    def unavailable_reason(self) -> str | None:
        return None

    def plan(self, count: int, rng: np.random.Generator, context: PlanContext) -> list[Job]:
        units = [u for u in context.sources if u.corpus == self.name]
        if count:
            units = [units[int(i)] for i in sorted(rng.permutation(len(units))[:count])]
        return [
            Job(index, "genuine", unit.speaker, unit.text_id, source=unit)
            for index, unit in enumerate(units)
        ]

    def synthesize(self, job: Job) -> tuple[FloatArray, int]:
        if job.source is None:
            raise ValueError(f"job {job.index} has no source recording")
        return job.source.samples, TARGET_SAMPLE_RATE
