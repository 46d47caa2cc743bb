"""Speaker-engine fixtures: one engine per session (models load once)."""

from __future__ import annotations

import numpy as np
import pytest

from voxguard.audio.types import AudioClip, AudioMetadata
from voxguard.speaker.engine import SpeakerEngine


@pytest.fixture(scope="session")
def engine() -> SpeakerEngine:
    return SpeakerEngine()


def as_clip(samples: np.ndarray) -> AudioClip:
    meta = AudioMetadata("array", "pcm", 16000, 1, samples.size / 16000, 0)
    return AudioClip(samples.astype(np.float32), 16000, meta)
