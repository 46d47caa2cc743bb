"""Speaker-engine fixtures: one engine per session (models load once)."""

from __future__ import annotations

import numpy as np
import pytest

from voxguard.audio.types import AudioClip, AudioMetadata
from voxguard.blas import limit_blas_threads
from voxguard.speaker.engine import SpeakerEngine


@pytest.fixture(scope="session")
def engine() -> SpeakerEngine:
    # As in every serving process (build_runtime): numpy's BLAS on one thread. With the
    # library's default, a gallery changed in place and one built afresh differed by 1e-4 in
    # normalised score when this file ran alone on two cores.
    limit_blas_threads(1)
    return SpeakerEngine()


def as_clip(samples: np.ndarray) -> AudioClip:
    meta = AudioMetadata("array", "pcm", 16000, 1, samples.size / 16000, 0)
    return AudioClip(samples.astype(np.float32), 16000, meta)
