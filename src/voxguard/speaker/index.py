"""Nearest-voiceprint search for identification: exact numpy below a size, faiss above it.

Both back ends answer the same question (the ``k`` highest cosine scores) through one
interface; the faiss one uses an HNSW graph, approximate but near-exact at this ``ef``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from voxguard.speaker.scoring import unit_rows
from voxguard.speaker.types import Vector

Matrix = npt.NDArray[np.float32]
# Above this many voiceprints a faiss index replaces the exact scan.
INDEX_THRESHOLD = 5000


class VectorSearch(Protocol):
    ids: list[str]

    def search(self, query: Vector, k: int) -> list[tuple[int, float]]:
        """(row, cosine) of the ``k`` best rows, best first."""
        ...


class ExactSearch:
    def __init__(self, ids: Sequence[str], vectors: Matrix) -> None:
        self.ids = list(ids)
        self.vectors = unit_rows(vectors)

    def search(self, query: Vector, k: int) -> list[tuple[int, float]]:
        if not self.ids:
            return []
        scores = self.vectors @ (query / max(float(np.linalg.norm(query)), 1e-12))
        k = min(k, scores.size)
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(i), float(scores[i])) for i in top]


class FaissSearch:
    """HNSW inner-product index over L2-normalised vectors (inner product = cosine)."""

    def __init__(self, ids: Sequence[str], vectors: Matrix, m: int = 32, ef: int = 256) -> None:
        import faiss

        self.ids = list(ids)
        data = np.ascontiguousarray(unit_rows(vectors))
        index: Any = faiss.IndexHNSWFlat(data.shape[1], m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = max(ef, 40)
        index.hnsw.efSearch = ef
        index.add(data)
        self._index = index

    def search(self, query: Vector, k: int) -> list[tuple[int, float]]:
        if not self.ids:
            return []
        q = (query / max(float(np.linalg.norm(query)), 1e-12)).astype(np.float32)[None, :]
        scores, rows = self._index.search(q, min(k, len(self.ids)))
        return [(int(r), float(s)) for r, s in zip(rows[0], scores[0], strict=True) if r >= 0]


def build_search(vectors: Mapping[str, Vector], threshold: int = INDEX_THRESHOLD) -> VectorSearch:
    ids = list(vectors)
    dim = next(iter(vectors.values())).size if vectors else 1
    matrix = (
        np.stack([vectors[i] for i in ids]).astype(np.float32)
        if ids
        else np.zeros((0, dim), dtype=np.float32)
    )
    if len(ids) > threshold:
        return FaissSearch(ids, matrix)
    return ExactSearch(ids, matrix)
