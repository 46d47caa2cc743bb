"""Every generator the corpus builder knows, in build order (neural first)."""

from __future__ import annotations

from voxguard.training.generators.base import Generator, Job, PlanContext, SourceUnit
from voxguard.training.generators.bonafide import Bonafide
from voxguard.training.generators.classical import EspeakNg, Festival, Flite, Pico, RhVoice
from voxguard.training.generators.neural_tts import Kokoro, Piper
from voxguard.training.generators.resynthesis import GriffinLim, HifiGan, LpcMlsa, World

__all__ = ["Generator", "Job", "PlanContext", "SourceUnit", "all_generators"]


def all_generators() -> list[Generator]:
    return [
        Bonafide("librispeech"),
        Bonafide("fsdd"),
        Piper(),
        EspeakNg(),
        Kokoro(),
        HifiGan("universal"),
        HifiGan("LJSpeech"),
        World(),
        GriffinLim(),
        Flite(),
        Pico(),
        RhVoice(),
        Festival(),
        LpcMlsa(),
    ]
