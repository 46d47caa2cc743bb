"""What every generator provides, and the jobs it is given."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from voxguard.audio.types import FloatArray
from voxguard.training.texts import Sentence


@dataclass(frozen=True)
class SourceUnit:
    """A piece of genuine speech: kept as bona fide, and resynthesised by the vocoders."""

    unit_id: str
    corpus: str
    speaker: str
    text_id: str
    samples: FloatArray  # 16 kHz mono, straight from load_audio


@dataclass(frozen=True)
class Job:
    """One clip to generate. ``text`` is set for TTS, ``source`` for resynthesis."""

    index: int
    voice: str
    speaker: str
    text_id: str
    text: str = ""
    source: SourceUnit | None = None
    params: dict[str, float] = field(default_factory=dict)

    @property
    def clip_id(self) -> str:
        return f"{self.index:05d}"


@dataclass(frozen=True)
class PlanContext:
    sentences: list[Sentence]
    sources: list[SourceUnit]


class Generator(Protocol):
    name: str
    family: str
    license: str
    default_count: int

    def unavailable_reason(self) -> str | None:
        """None when the generator can run here, else what is missing."""

    def plan(self, count: int, rng: np.random.Generator, context: PlanContext) -> list[Job]: ...

    def synthesize(self, job: Job) -> tuple[FloatArray, int]:
        """Audio in [-1, 1] and its sample rate."""


def missing_commands(*commands: str) -> str | None:
    absent = [c for c in commands if shutil.which(c) is None]
    if absent:
        return f"{', '.join(absent)} not installed (run scripts/setup-generators.sh)"
    return None


def missing_modules(*modules: str) -> str | None:
    import importlib.util

    absent = [m for m in modules if importlib.util.find_spec(m) is None]
    if absent:
        return f"Python packages {', '.join(absent)} not installed (pip install -e '.[train]')"
    return None


def pick_sentences(
    rng: np.random.Generator, sentences: list[Sentence], p_two: float = 0.2
) -> tuple[str, str]:
    """One sentence, sometimes two: (text_id, text). Clips land around 1.5-7 s, like the
    genuine units."""
    count = 2 if rng.random() < p_two else 1
    chosen = [sentences[int(i)] for i in rng.choice(len(sentences), size=count, replace=False)]
    return "+".join(s.text_id for s in chosen), " ".join(s.text for s in chosen)


def pick_sources(
    rng: np.random.Generator, sources: list[SourceUnit], count: int
) -> list[SourceUnit]:
    """``count`` genuine units, without repeats while there are enough."""
    order = rng.permutation(len(sources))
    return [sources[int(order[i % len(order)])] for i in range(count)]
