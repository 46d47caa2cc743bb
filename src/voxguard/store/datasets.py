"""Labelled datasets: their rows, their recordings' rows and the blobs those point at."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import delete, exists, func, select
from sqlalchemy.orm import aliased

from voxguard.store.models import Dataset, DatasetBlob, DatasetItem
from voxguard.store.repository import Repository

# Bound parameters per IN (...) list: far below every backend's limit.
_CHUNK = 500


class Tally(NamedTuple):
    """Recordings of one dataset with one label and one system (None: no system given)."""

    dataset_id: str
    label: str
    system: str | None
    items: int
    duration_s: float
    speech_s: float
    size_bytes: int


class DatasetRepository(Repository[Dataset]):
    model = Dataset

    def page(self, offset: int, limit: int) -> tuple[Sequence[Dataset], int]:
        """A page of datasets, newest first, and how many there are."""
        total = self.session.scalar(select(func.count()).select_from(Dataset)) or 0
        stmt = (
            select(Dataset)
            .order_by(Dataset.created_at.desc(), Dataset.id)
            .offset(offset)
            .limit(limit)
        )
        return self.session.scalars(stmt).all(), total

    def created_before(self, cutoff: datetime) -> Sequence[Dataset]:
        stmt = select(Dataset).where(Dataset.created_at < cutoff).order_by(Dataset.created_at)
        return self.session.scalars(stmt).all()

    def tallies(self, dataset_ids: Sequence[str]) -> list[Tally]:
        """Counts, durations and sizes per dataset, label and system."""
        found: list[Tally] = []
        for chunk in _chunks(dataset_ids):
            stmt = (
                select(
                    DatasetItem.dataset_id,
                    DatasetItem.label,
                    DatasetItem.system,
                    func.count(),
                    func.sum(DatasetItem.duration_s),
                    func.sum(DatasetItem.speech_s),
                    func.sum(DatasetItem.size_bytes),
                )
                .where(DatasetItem.dataset_id.in_(chunk))
                .group_by(DatasetItem.dataset_id, DatasetItem.label, DatasetItem.system)
            )
            found.extend(
                Tally(d, label, system, int(n), float(dur or 0), float(sp or 0), int(size or 0))
                for d, label, system, n, dur, sp, size in self.session.execute(stmt)
            )
        return found

    def items(self, dataset_id: str, offset: int, limit: int) -> Sequence[DatasetItem]:
        stmt = (
            select(DatasetItem)
            .where(DatasetItem.dataset_id == dataset_id)
            .order_by(DatasetItem.path)
            .offset(offset)
            .limit(limit)
        )
        return self.session.scalars(stmt).all()

    def all_items(self, dataset_ids: Sequence[str]) -> list[DatasetItem]:
        """Every recording of the datasets, by dataset and path."""
        found: list[DatasetItem] = []
        for chunk in _chunks(dataset_ids):
            stmt = (
                select(DatasetItem)
                .where(DatasetItem.dataset_id.in_(chunk))
                .order_by(DatasetItem.dataset_id, DatasetItem.path)
            )
            found.extend(self.session.scalars(stmt))
        return found

    def add_recordings(self, dataset: Dataset, items: Sequence[DatasetItem]) -> None:
        """The dataset, its items, and a blob row for each recording not stored before."""
        self.add(dataset)
        sizes = {item.sha256: item.size_bytes for item in items}
        known = self.known_blobs(list(sizes))
        self.session.add_all(
            DatasetBlob(sha256=sha, size_bytes=size)
            for sha, size in sizes.items()
            if sha not in known
        )
        self.session.flush()
        for item in items:
            item.dataset_id = dataset.id
        self.session.add_all(items)
        self.session.flush()

    def known_blobs(self, hashes: Sequence[str]) -> set[str]:
        known: set[str] = set()
        for chunk in _chunks(hashes):
            stmt = select(DatasetBlob.sha256).where(DatasetBlob.sha256.in_(chunk))
            known.update(self.session.scalars(stmt))
        return known

    def all_blobs(self) -> set[str]:
        return set(self.session.scalars(select(DatasetBlob.sha256)))

    def delete(self, dataset: Dataset) -> list[str]:
        """Remove the dataset, its items, and the blob rows no other dataset uses; the hashes
        of those blobs (their files are the caller's to remove once this commits)."""
        other = aliased(DatasetItem)
        used_elsewhere = exists().where(
            other.sha256 == DatasetItem.sha256, other.dataset_id != dataset.id
        )
        unused = list(
            self.session.scalars(
                select(DatasetItem.sha256)
                .where(DatasetItem.dataset_id == dataset.id, ~used_elsewhere)
                .distinct()
            )
        )
        self.session.execute(delete(DatasetItem).where(DatasetItem.dataset_id == dataset.id))
        self.session.delete(dataset)
        self.session.flush()
        for chunk in _chunks(unused):
            self.session.execute(delete(DatasetBlob).where(DatasetBlob.sha256.in_(chunk)))
        self.session.flush()
        return unused


def _chunks(values: Sequence[str]) -> Iterable[Sequence[str]]:
    return (values[i : i + _CHUNK] for i in range(0, len(values), _CHUNK))
