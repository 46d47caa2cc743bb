"""Feature caches built from a clip list, one window per clip, for protocol and fit tests."""

import numpy as np

from voxguard.training.detector.data import Clip, FeatureCache


def one_window_cache(clips: list[Clip], stats: np.ndarray | None = None) -> FeatureCache:
    """Clip i owns window i; ``stats`` (clips x dims) defaults to one zero statistic."""
    n = len(clips)
    return FeatureCache(
        specs=np.zeros((n, 1, 1), np.float16),
        waves=np.zeros((n, 1), np.int16),
        stats=np.zeros((n, 1), np.float32) if stats is None else stats,
        window_clip=np.arange(n),
        window_aug=np.zeros(n, int),
        clips=clips,
    )
