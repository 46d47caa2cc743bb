"""A gallery of voiceprints prepared for 1:N search, per scoring path.

For each path a test can take, the gallery keeps the voiceprints' matching variant, compensated
with the path's WCCN, in a search structure (exact or faiss), plus their cohort statistics when
the path AS-normalises. Paths are prepared on first use and reused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from voxguard.speaker.backend import SpeakerBackend, variant_for
from voxguard.speaker.enrollment import voiceprint_variant
from voxguard.speaker.index import INDEX_THRESHOLD, VectorSearch, build_search
from voxguard.speaker.types import Vector, Voiceprint

# Candidates fetched by cosine before AS-norm re-ranks them.
_POOL_FACTOR = 4


@dataclass(frozen=True)
class _Prepared:
    search: VectorSearch
    stats: tuple[np.ndarray, np.ndarray] | None


class SpeakerGallery:
    def __init__(
        self,
        voiceprints: Mapping[str, Voiceprint],
        backend: SpeakerBackend,
        index_threshold: int = INDEX_THRESHOLD,
    ) -> None:
        self.backend = backend
        self.ids = list(voiceprints)
        self._voiceprints = dict(voiceprints)
        self._index_threshold = index_threshold
        self._prepared: dict[str, _Prepared] = {}

    def __len__(self) -> int:
        return len(self.ids)

    def _prepare(self, name: str) -> _Prepared:
        if name not in self._prepared:
            path = self.backend.path(name)
            variant = variant_for(name)
            raw = {i: voiceprint_variant(self._voiceprints[i], variant) for i in self.ids}
            matrix = np.stack([raw[i] for i in self.ids]).astype(np.float32)
            if path.wccn is not None:
                matrix = path.wccn.apply(matrix)
            search = build_search(dict(zip(self.ids, matrix, strict=True)), self._index_threshold)
            stats = path.cohort.stats_many(matrix) if path.cohort is not None else None
            self._prepared[name] = _Prepared(search, stats)
        return self._prepared[name]

    def rank(self, vector: Vector, path_name: str, top_k: int) -> list[tuple[str, float, float]]:
        """(speaker id, cosine, normalised score) of the best ``top_k``, best first."""
        if not self.ids:
            return []
        path = self.backend.path(path_name)
        prepared = self._prepare(path_name)
        test = path.wccn.apply_one(vector) if path.wccn is not None else vector
        if path.cohort is None or prepared.stats is None:
            return [(self.ids[row], raw, raw) for row, raw in prepared.search.search(test, top_k)]
        test_stats = path.cohort.stats(test)
        means, stds = prepared.stats
        ranked = []
        for row, raw in prepared.search.search(test, top_k * _POOL_FACTOR):
            normalized = 0.5 * (
                (raw - means[row]) / stds[row] + (raw - test_stats.mean) / test_stats.std
            )
            ranked.append((self.ids[row], raw, float(normalized)))
        ranked.sort(key=lambda item: -item[2])
        return ranked[:top_k]
