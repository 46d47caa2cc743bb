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
        self._voiceprints = dict(voiceprints)
        self._index_threshold = index_threshold
        self._search: dict[str, VectorSearch] = {}
        self._short_search: dict[str, VectorSearch] = {}
        self._stats: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for condition in CONDITIONS:
            vectors = self._projected(condition, short=False)
            self._search[condition] = build_search(vectors, index_threshold)
            if self.ids:
                matrix = np.stack([vectors[i] for i in self.ids]).astype(np.float32)
                self._stats[condition] = backend.cohort(condition).stats_many(matrix)

    def _projected(self, condition: str, short: bool) -> dict[str, Vector]:
        return {
            i: self.backend.project(voiceprint_variant(self._voiceprints[i], condition), short)
            for i in self.ids
        }

    def _short(self, condition: str) -> VectorSearch:
        # Built on first use: most deployments never see a sub-second test.
        if condition not in self._short_search:
            vectors = self._projected(condition, short=True)
            self._short_search[condition] = build_search(vectors, self._index_threshold)
        return self._short_search[condition]

    def __len__(self) -> int:
        return len(self.ids)

    def rank(
        self, vector: Vector, condition: str, top_k: int, short: bool = False
    ) -> list[tuple[str, float, float]]:
        """(speaker id, cosine, normalised score) of the best ``top_k``, best first.

        The normalised score is AS-norm, or the cosine itself on the short path.
        """
        if not self.ids:
            return []
        condition = condition if condition in self._search else "clean"
        if short:
            hits = self._short(condition).search(self.backend.project(vector, True), top_k)
            return [(self.ids[row], raw, raw) for row, raw in hits]
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
