"""Nearest-voiceprint search for identification: exact up to a size, an inverted file above.

``VectorIndex`` answers one question (the ``k`` highest cosine scores) over vectors keyed by
integer labels, and takes additions and removals in place. Up to ``threshold`` vectors the
search is exact (a flat float32 inner-product scan). Above it, a faiss inverted file: k-means
cells over the vectors, stored as float16 (half the memory and the memory traffic of float32;
a cosine moves by about 1e-4); a query scans the ``nprobe`` cells nearest to it. An inverted
file was chosen over HNSW because it removes vectors for real (HNSW only hides them until a
rebuild), builds a million 256-d vectors in about half a minute instead of many, and holds
nothing but the vectors; ``bench/identify_million.py`` measures its recall and speed against
exact search (docs/performance.md).

The index re-trains itself when the gallery has grown ``_RETRAIN_GROWTH`` times past the size
its cells were fitted on, and falls back to exact search when it shrinks to the threshold
(over the float16 values it held: scores then differ from float32 ones by about 1e-4).
"""

from __future__ import annotations

import math
from typing import Any

import faiss
import numpy as np
import numpy.typing as npt
from faiss.contrib.inspect_tools import get_invlist

from voxguard.speaker.types import Vector

Matrix = npt.NDArray[np.float32]
Labels = npt.NDArray[np.int64]
# Above this many voiceprints the inverted file replaces the exact scan.
INDEX_THRESHOLD = 5000
# Cells scanned per query. bench/identify_million.py, 1,000,000 vectors (4,000 cells): recall@1
# against exact search 0.995 at 128 (0.989 at 96, 0.997 at 160); docs/performance.md.
NPROBE = 128
_RETRAIN_GROWTH = 4
# k-means wants about 40 points per cell; more than 64 per cell, or more than 10 rounds, buys
# no recall here, only training time.
_MIN_POINTS_PER_CELL = 40
_TRAIN_POINTS_PER_CELL = 64
_TRAIN_ROUNDS = 10


def cell_count(n: int) -> int:
    """Cells for ``n`` vectors: about 4 sqrt(n), at least 40 vectors per cell."""
    return max(1, min(int(4 * math.sqrt(n)), n // _MIN_POINTS_PER_CELL))


class VectorIndex:
    """Cosine top-k over labelled vectors (rows are L2-normalised on the way in)."""

    def __init__(self, dim: int, threshold: int = INDEX_THRESHOLD, nprobe: int = NPROBE) -> None:
        self.dim = dim
        self.threshold = threshold
        self._nprobe = nprobe
        self.trained_for = 0  # vectors the IVF cells were fitted on (0: exact)
        self._index: Any = _flat(dim)

    @property
    def approximate(self) -> bool:
        return self.trained_for > 0

    @property
    def cells(self) -> int:
        """Inverted-file cells (0: exact search)."""
        return int(self._index.nlist) if self.approximate else 0

    @property
    def nprobe(self) -> int:
        return self._nprobe

    @nprobe.setter
    def nprobe(self, value: int) -> None:
        self._nprobe = value
        if self.approximate:
            self._index.nprobe = value

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def add(self, labels: Labels, vectors: Matrix) -> None:
        """Add vectors under labels not in the index yet."""
        if not len(labels):
            return
        data = _unit(vectors)
        if data.shape[1] != self.dim:
            raise ValueError(f"vectors of {data.shape[1]} dimensions in a {self.dim}-d index")
        ids = np.ascontiguousarray(labels, dtype=np.int64)
        if not self.approximate and len(self) + len(ids) > self.threshold:
            # Straight to the inverted file, trained on everything: a large first batch
            # (a full build) never passes through a flat copy of itself.
            if len(self):
                held_labels, held = self.contents()
                ids, data = np.concatenate([held_labels, ids]), np.concatenate([held, data])
            self._index, self.trained_for = _ivf(self.dim, data, self.nprobe), len(ids)
            self._index.add_with_ids(data, ids)
            return
        self._index.add_with_ids(data, ids)
        self._rebalance()

    def remove(self, labels: Labels, settle: bool = True) -> int:
        """Remove these labels (absent ones are ignored); how many were removed.
        ``settle=False``: keep the current kind of index even if the size now says otherwise
        (the caller adds as many back at once: a replacement, not a shrink)."""
        if not len(labels):
            return 0
        selector = faiss.IDSelectorBatch(np.ascontiguousarray(labels, dtype=np.int64))
        removed = int(self._index.remove_ids(selector))
        if settle:
            self._rebalance()
        return removed

    def search(self, query: Vector, k: int) -> list[tuple[int, float]]:
        """(label, cosine) of the ``k`` best vectors, best first."""
        if not len(self) or k < 1:
            return []
        q = _unit(np.asarray(query, dtype=np.float32)[None, :])
        scores, labels = self._index.search(q, min(k, len(self)))
        return [(int(i), float(s)) for i, s in zip(labels[0], scores[0], strict=True) if i >= 0]

    def contents(self) -> tuple[Labels, Matrix]:
        """Every (label, vector) in the index, in no particular order."""
        if not self.approximate:
            n = len(self)
            labels = faiss.vector_to_array(self._index.id_map).astype(np.int64)
            flat = self._index.index
            vectors = flat.reconstruct_n(0, n) if n else np.zeros((0, self.dim), np.float32)
            return labels, vectors.astype(np.float32)
        lists = self._index.invlists
        parts = [get_invlist(lists, c) for c in range(self._index.nlist)]  # type: ignore[no-untyped-call]
        labels = np.concatenate([ids for ids, _ in parts]) if parts else np.zeros(0, np.int64)
        codes = [codes for _, codes in parts]
        stored = np.concatenate(codes).view(np.float16) if codes else np.zeros((0, self.dim))
        return labels, stored.reshape(-1, self.dim).astype(np.float32)

    def to_bytes(self) -> npt.NDArray[np.uint8]:
        data: npt.NDArray[np.uint8] = faiss.serialize_index(self._index)
        return data

    @classmethod
    def from_bytes(
        cls,
        data: npt.NDArray[np.uint8],
        trained_for: int,
        threshold: int = INDEX_THRESHOLD,
        nprobe: int = NPROBE,
    ) -> VectorIndex:
        index: Any = faiss.deserialize_index(np.ascontiguousarray(data, dtype=np.uint8))
        restored = cls(int(index.d), threshold, nprobe)
        if trained_for:  # deserialize_index hands back the concrete class, which owns it
            index.nprobe = nprobe
        restored._index, restored.trained_for = index, int(trained_for)
        restored._rebalance()
        return restored

    def _rebalance(self) -> None:
        n = len(self)
        if n > self.threshold and (not self.approximate or n > _RETRAIN_GROWTH * self.trained_for):
            self._rebuild(approximate=True)
        elif n <= self.threshold and self.approximate:
            self._rebuild(approximate=False)

    def _rebuild(self, approximate: bool) -> None:
        labels, vectors = self.contents()
        if not approximate:
            index = _flat(self.dim)
            trained_for = 0
        else:
            index = _ivf(self.dim, vectors, self.nprobe)
            trained_for = len(labels)
        index.add_with_ids(np.ascontiguousarray(vectors), np.ascontiguousarray(labels))
        self._index, self.trained_for = index, trained_for


def _unit(vectors: Matrix) -> Matrix:
    """Rows scaled to unit length, as float32 and contiguous; no copy when they are already."""
    data = np.ascontiguousarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(data, axis=1)
    if np.allclose(norms, 1.0, atol=1e-5):
        return data
    return np.ascontiguousarray(data / np.maximum(norms, 1e-12)[:, None], dtype=np.float32)


def _flat(dim: int) -> Any:
    return faiss.IndexIDMap(faiss.IndexFlatIP(dim))


def _ivf(dim: int, vectors: Matrix, nprobe: int) -> Any:
    cells = cell_count(len(vectors))
    index = faiss.IndexIVFScalarQuantizer(
        faiss.IndexFlatIP(dim),
        dim,
        cells,
        faiss.ScalarQuantizer.QT_fp16,
        faiss.METRIC_INNER_PRODUCT,
        False,  # the vectors themselves, not residuals: float16 round trips stay exact
    )
    index.cp.spherical = True  # cosine cells: centroids stay on the unit sphere
    index.cp.max_points_per_centroid = _TRAIN_POINTS_PER_CELL
    index.cp.niter = _TRAIN_ROUNDS
    index.train(np.ascontiguousarray(vectors))
    index.nprobe = nprobe
    return index
