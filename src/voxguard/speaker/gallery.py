"""A gallery of voiceprints prepared for 1:N search, kept current in place.

Each scoring path compares a test with one variant of the voiceprints (clean or phone) after
one WCCN; paths that share both share one search index (a group). The gallery holds one
``VectorIndex`` per group, over integer labels (one per speaker, the same in every group),
and, for each AS-normalised path, every voiceprint's cohort statistics. Speakers are added,
replaced and removed in place (``upsert``, ``remove``); ``snapshot`` and ``from_snapshot``
take the whole state out as arrays and put it back, which is how it is persisted. Searches
and changes take one lock, so a gallery can be shared by a process's threads. The gallery also
knows which voiceprints were enrolled in noise, so a search can rank those on another path
(``rank(..., enrolled_in_noise=...)``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from voxguard.errors import ModelMismatch
from voxguard.speaker.backend import ScoringPath, SpeakerBackend, variant_for
from voxguard.speaker.enrollment import enrolled_in_noise, voiceprint_variant
from voxguard.speaker.index import INDEX_THRESHOLD, Labels, Matrix, VectorIndex
from voxguard.speaker.types import Vector, Voiceprint

# Candidates fetched by cosine before AS-norm re-ranks them.
_POOL_FACTOR = 4
# Rows per cohort-statistics product (a million rows at once would be a 900 MB matrix).
_STATS_CHUNK = 50_000
SNAPSHOT_FORMAT = 1


@dataclass(frozen=True)
class GallerySnapshot:
    """A gallery's whole state: a JSON-able header and named arrays."""

    header: dict[str, Any]
    arrays: dict[str, npt.NDArray[Any]]


class SpeakerGallery:
    def __init__(
        self,
        voiceprints: Mapping[str, Voiceprint],
        backend: SpeakerBackend,
        index_threshold: int = INDEX_THRESHOLD,
    ) -> None:
        self.backend = backend
        self.index_threshold = index_threshold
        self._lock = threading.RLock()
        self._labels: dict[str, int] = {}
        self._ids: list[str | None] = []  # by label; None: free
        self._free: list[int] = []
        self._group_of = {name: _group_name(backend, name) for name in backend.paths}
        self._groups: dict[str, VectorIndex] = {}
        self._stats: dict[str, npt.NDArray[np.float32]] = {}  # path -> (labels, [mean, std])
        self._noisy: set[int] = set()  # labels of voiceprints enrolled in noise
        if voiceprints:
            self.upsert(voiceprints)

    @classmethod
    def build(
        cls,
        batches: Iterable[Mapping[str, Voiceprint]],
        backend: SpeakerBackend,
        index_threshold: int = INDEX_THRESHOLD,
    ) -> SpeakerGallery:
        """A gallery of every batch, each group's index built once from all of them."""
        gallery = cls({}, backend, index_threshold)
        ids: list[str] = []
        seen: set[str] = set()
        noisy: set[str] = set()
        parts: dict[str, list[Matrix]] = {group: [] for group in gallery._group_names()}
        for batch in batches:
            fresh = {i: v for i, v in batch.items() if i not in seen}  # a repeat counts once
            ids.extend(fresh)
            seen.update(fresh)
            noisy.update(i for i, v in fresh.items() if enrolled_in_noise(v))
            for group, matrices in parts.items():
                matrices.append(gallery._group_matrix(group, list(fresh.values())))
        with gallery._lock:
            gallery._insert(ids, parts, noisy)
        return gallery

    def __len__(self) -> int:
        return len(self._labels)

    def __contains__(self, speaker_id: object) -> bool:
        return speaker_id in self._labels

    @property
    def ids(self) -> list[str]:
        with self._lock:
            return list(self._labels)

    @property
    def approximate(self) -> bool:
        """Whether searches go through the approximate index (above the threshold)."""
        with self._lock:
            return any(index.approximate for index in self._groups.values())

    # --- changes ------------------------------------------------------------------------

    def upsert(self, voiceprints: Mapping[str, Voiceprint]) -> None:
        """Add these speakers, or replace their voiceprints when they are in already."""
        if not voiceprints:
            return
        ids = list(voiceprints)
        parts = {
            g: [self._group_matrix(g, list(voiceprints.values()))] for g in self._group_names()
        }
        noisy = {i for i, v in voiceprints.items() if enrolled_in_noise(v)}
        with self._lock:
            present = [self._labels[i] for i in ids if i in self._labels]
            self._remove_labels(np.array(present, dtype=np.int64), settle=False)
            self._insert(ids, parts, noisy)

    def remove(self, speaker_ids: Iterable[str]) -> None:
        """Take these speakers out (ids not in the gallery are ignored)."""
        with self._lock:
            labels = [self._labels.pop(i) for i in speaker_ids if i in self._labels]
            for label in labels:
                self._ids[label] = None
            self._noisy.difference_update(labels)
            self._free.extend(labels)
            self._remove_labels(np.array(labels, dtype=np.int64))

    # --- search -------------------------------------------------------------------------

    @property
    def has_noisy_enrollments(self) -> bool:
        with self._lock:
            return bool(self._noisy)

    def rank(
        self,
        vector: Vector,
        path_name: str,
        top_k: int,
        enrolled_in_noise: bool | None = None,
    ) -> list[tuple[str, float, float]]:
        """(speaker id, cosine, normalised score) of the best ``top_k``, best first.

        ``enrolled_in_noise`` True / False keeps only the voiceprints enrolled in noise / not;
        they are taken from the same candidate pool (``top_k`` x 4 nearest by cosine, the
        pool AS-norm re-ranks), so a filtered list can be shorter than ``top_k``.
        """
        path = self.backend.path(path_name)
        test = path.wccn.apply_one(vector) if path.wccn is not None else vector
        with self._lock:
            index = self._groups.get(self._group_of[path_name])
            if index is None or not self._labels:
                return []
            stats = self._stats.get(path_name)
            filtered = enrolled_in_noise is not None and bool(self._noisy)
            pool = top_k * _POOL_FACTOR if (filtered or path.cohort is not None) else top_k
            hits = index.search(test, pool)
            if enrolled_in_noise is not None:
                hits = [
                    (label, raw)
                    for label, raw in hits
                    if (label in self._noisy) is enrolled_in_noise
                ]
            if path.cohort is None or stats is None:
                return [(self._id(label), raw, raw) for label, raw in hits[:top_k]]
            ranked = [(self._id(label), raw, stats[label]) for label, raw in hits]
        test_stats = path.cohort.stats(test)
        scored = [
            (
                speaker_id,
                raw,
                float(0.5 * ((raw - mean) / std + (raw - test_stats.mean) / test_stats.std)),
            )
            for speaker_id, raw, (mean, std) in ranked
        ]
        scored.sort(key=lambda item: -item[2])
        return scored[:top_k]

    # --- persistence --------------------------------------------------------------------

    def snapshot(self) -> GallerySnapshot:
        with self._lock:
            ids = np.array([(i or "").encode() for i in self._ids], dtype=np.bytes_)
            arrays: dict[str, npt.NDArray[Any]] = {"ids": ids}
            for group, index in self._groups.items():
                arrays[f"group/{group}"] = index.to_bytes()
            for path, stats in self._stats.items():
                arrays[f"stats/{path}"] = stats[: len(self._ids)]
            arrays["noisy"] = np.array(sorted(self._noisy), dtype=np.int64)
            header = {
                "format": SNAPSHOT_FORMAT,
                "model_version": self.backend.model_version,
                "backend_version": self.backend.version,
                "groups": {g: index.trained_for for g, index in self._groups.items()},
                "speakers": len(self._labels),
            }
        return GallerySnapshot(header, arrays)

    @classmethod
    def from_snapshot(
        cls,
        snapshot: GallerySnapshot,
        backend: SpeakerBackend,
        index_threshold: int = INDEX_THRESHOLD,
    ) -> SpeakerGallery:
        header, arrays = snapshot.header, snapshot.arrays
        if header.get("format") != SNAPSHOT_FORMAT:
            raise ModelMismatch(f"Gallery snapshot format {header.get('format')} is not known.")
        made_by = (header.get("model_version"), header.get("backend_version"))
        if made_by != (backend.model_version, backend.version):
            raise ModelMismatch(
                f"The gallery snapshot was made with {made_by[0]} / {made_by[1]}, not "
                f"{backend.model_version} / {backend.version}."
            )
        gallery = cls({}, backend, index_threshold)
        gallery._ids = [raw.decode() or None for raw in arrays["ids"].tolist()]
        gallery._labels = {i: label for label, i in enumerate(gallery._ids) if i is not None}
        gallery._free = [label for label, i in enumerate(gallery._ids) if i is None]
        for group, trained_for in header["groups"].items():
            index = VectorIndex.from_bytes(arrays[f"group/{group}"], trained_for, index_threshold)
            if len(index) != len(gallery._labels):
                raise ModelMismatch(f"Gallery snapshot group {group} lacks some speakers.")
            gallery._groups[group] = index
        for name in gallery._stats_paths():
            gallery._stats[name] = np.array(arrays[f"stats/{name}"], dtype=np.float32)
        if "noisy" in arrays:  # snapshots made before it was kept: every voiceprint clean
            gallery._noisy = {int(label) for label in arrays["noisy"].tolist()}
        return gallery

    # --- internals ----------------------------------------------------------------------

    def _id(self, label: int) -> str:
        speaker_id = self._ids[label]
        assert speaker_id is not None  # the indexes hold live labels only
        return speaker_id

    def _path(self, name: str) -> ScoringPath:
        return self.backend.path(name)

    def _group_names(self) -> list[str]:
        return sorted(set(self._group_of.values()))

    def _stats_paths(self) -> list[str]:
        return [name for name in self.backend.paths if self._path(name).cohort is not None]

    def _group_matrix(self, group: str, voiceprints: list[Voiceprint]) -> Matrix:
        """The group's vectors of these voiceprints (variant, then WCCN), one row each."""
        name = next(n for n, g in self._group_of.items() if g == group)
        path = self._path(name)
        if not voiceprints:
            return np.zeros((0, _dim(path)), dtype=np.float32)
        variant = variant_for(name)
        raw = np.stack([voiceprint_variant(v, variant) for v in voiceprints]).astype(np.float32)
        return path.wccn.apply(raw) if path.wccn is not None else raw

    def _insert(self, ids: list[str], parts: dict[str, list[Matrix]], noisy: set[str]) -> None:
        """Add speakers not in the gallery; ``parts``: each group's rows, in ``ids`` order;
        ``noisy``: the ids enrolled in noise. Each group's list is emptied as it goes, so its
        rows are freed once indexed."""
        if not ids:
            return
        labels = np.array([self._allocate(i) for i in ids], dtype=np.int64)
        for speaker_id, label in zip(ids, labels.tolist(), strict=True):
            if speaker_id in noisy:
                self._noisy.add(label)
            else:
                self._noisy.discard(label)
        self._grow_stats(len(self._ids))
        for group, matrices in parts.items():
            matrix = np.concatenate(matrices) if len(matrices) != 1 else matrices[0]
            matrices.clear()
            for name in self._stats_paths():
                if self._group_of[name] == group:
                    self._stats[name][labels] = _cohort_stats(self._path(name), matrix)
            if group not in self._groups:
                self._groups[group] = VectorIndex(matrix.shape[1], self.index_threshold)
            self._groups[group].add(labels, matrix)
            del matrix

    def _allocate(self, speaker_id: str) -> int:
        label = self._labels.get(speaker_id)
        if label is None:
            if self._free:
                label = self._free.pop()
                self._ids[label] = speaker_id
            else:
                label = len(self._ids)
                self._ids.append(speaker_id)
            self._labels[speaker_id] = label
        return label

    def _remove_labels(self, labels: Labels, settle: bool = True) -> None:
        if len(labels):
            for index in self._groups.values():
                index.remove(labels, settle)

    def _grow_stats(self, size: int) -> None:
        for name in self._stats_paths():
            stats = self._stats.get(name)
            if stats is None or len(stats) < size:
                capacity = max(size, 2 * len(stats) if stats is not None else 0)
                grown = np.zeros((capacity, 2), dtype=np.float32)
                if stats is not None:
                    grown[: len(stats)] = stats
                self._stats[name] = grown


def _group_name(backend: SpeakerBackend, path_name: str) -> str:
    """Paths with the same voiceprint variant and the same WCCN search one index."""
    variant = variant_for(path_name)
    if backend.path(path_name).wccn is None:
        return f"{variant}-raw"
    spec = backend.metadata.get("paths", {}).get(path_name, {})
    return f"{variant}-{spec.get('wccn', path_name)}"


def _dim(path: ScoringPath) -> int:
    return int(path.wccn.transform.shape[1]) if path.wccn is not None else 0


def _cohort_stats(path: ScoringPath, matrix: Matrix) -> npt.NDArray[np.float32]:
    assert path.cohort is not None
    out = np.empty((len(matrix), 2), dtype=np.float32)
    for start in range(0, len(matrix), _STATS_CHUNK):
        means, stds = path.cohort.stats_many(matrix[start : start + _STATS_CHUNK])
        out[start : start + _STATS_CHUNK, 0] = means
        out[start : start + _STATS_CHUNK, 1] = stds
    return out
