"""Cut long demo files (whole paragraphs, conversations) into clips of a few seconds."""

from __future__ import annotations

import itertools

import numpy as np

from voxguard.audio import TARGET_SAMPLE_RATE
from voxguard.audio.types import FloatArray
from voxguard.training.signal import cut_points

#: Files up to this long stay whole; longer ones are cut at quiet frames 4-10 s apart.
MAX_WHOLE_S = 20.0
SPAN_S = (4.0, 10.0)


def segment_bounds(samples: FloatArray) -> list[tuple[int, int]]:
    """Sample ranges of the clips to keep: the whole file, or its parts when it is long.

    The random span of each cut is drawn from a generator seeded the same for every file, so
    the same audio is always cut the same way.
    """
    if samples.size <= MAX_WHOLE_S * TARGET_SAMPLE_RATE:
        return [(0, samples.size)]
    cuts = cut_points(samples, np.random.default_rng(0), SPAN_S)
    return list(itertools.pairwise([0, *cuts, samples.size]))
