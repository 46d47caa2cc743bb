"""A gallery of voiceprints prepared for 1:N search: projected, cohort statistics cached."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from voxguard.speaker.backend import SpeakerBackend
from voxguard.speaker.enrollment import CONDITIONS, voiceprint_variant
from voxguard.speaker.index import INDEX_THRESHOLD, VectorSearch, build_search
from voxguard.speaker.types import Vector, Voiceprint

# Candidates fetched by cosine before AS-norm re-ranks them.
_POOL_FACTOR = 4


class SpeakerGallery:
    def __init__(
        self,
        voiceprints: Mapping[str, Voiceprint],
        backend: SpeakerBackend,
        index_threshold: int = INDEX_THRESHOLD,
    ) -> None:
        self.backend = backend
        self.ids = list(voiceprints)
        self._search: dict[str, VectorSearch] = {}
        self._stats: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for condition in CONDITIONS:
            vectors = {
                i: backend.project(voiceprint_variant(voiceprints[i], condition)) for i in self.ids
            }
            self._search[condition] = build_search(vectors, index_threshold)
            if self.ids:
                matrix = np.stack([vectors[i] for i in self.ids]).astype(np.float32)
                self._stats[condition] = backend.cohort(condition).stats_many(matrix)

    def __len__(self) -> int:
        return len(self.ids)

    def rank(self, vector: Vector, condition: str, top_k: int) -> list[tuple[str, float, float]]:
        """(speaker id, cosine, AS-normalised score) of the best ``top_k``, best first."""
        if not self.ids:
            return []
        condition = condition if condition in self._search else "clean"
        test = self.backend.project(vector)
        cohort = self.backend.cohort(condition)
        test_stats = cohort.stats(test)
        means, stds = self._stats[condition]
        hits = self._search[condition].search(test, top_k * _POOL_FACTOR)
        ranked = []
        for row, raw in hits:
            normalized = 0.5 * (
                (raw - means[row]) / stds[row] + (raw - test_stats.mean) / test_stats.std
            )
            ranked.append((self.ids[row], raw, float(normalized)))
        ranked.sort(key=lambda item: -item[2])
        return ranked[:top_k]
