"""Labelled datasets for retraining: upload, list, show, delete, purge by retention.

The one place VoxGuard keeps raw audio. An upload is all-or-nothing: every check (labels,
both classes present, sizes, duplicates, every recording decoded with enough length and some
speech) passes before anything is published, and the recordings are written to a staging
folder until then; a refused upload leaves no row and no file. Recordings are stored once
by their SHA-256 whichever datasets hold them, and a blob's file goes with the last dataset
that uses it, after the change commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from voxguard.audio.analysis import AnalyzedAudio, AudioFrontEnd
from voxguard.config import Settings
from voxguard.errors import (
    AudioTooShort,
    DatasetNotFound,
    DatasetTooLarge,
    DuplicateRecording,
    InvalidDataset,
    InvalidLabels,
    SingleClassDataset,
)
from voxguard.services.audio_input import analyze, require_speech
from voxguard.services.dataset_inputs import DatasetInput
from voxguard.services.dataset_labels import ACCEPTED_LABELS_TEXT, CSV_COLUMNS_TEXT, LabelEntry
from voxguard.services.schemas import (
    DatasetDetail,
    DatasetItemOut,
    DatasetLabel,
    DatasetOut,
    DatasetPage,
    PurgeOut,
)
from voxguard.store.audit import AuditRepository
from voxguard.store.blobs import BlobStore, Staging
from voxguard.store.datasets import DatasetRepository, Tally
from voxguard.store.models import Dataset, DatasetItem, utcnow

# A blob file without a row is left alone this long: an upload in flight has published its
# files but not yet committed its rows.
ORPHAN_GRACE_S = 3600.0


class DatasetService:
    def __init__(
        self,
        session: Session,
        settings: Settings,
        actor: str,
        front_end: AudioFrontEnd | None = None,
    ) -> None:
        self.repo = DatasetRepository(session)
        self.audit = AuditRepository(session)
        self.blobs = BlobStore(settings.datasets_dir)
        self.settings = settings
        self.actor = actor
        self._front_end = front_end

    # --- upload -------------------------------------------------------------------------

    def upload(self, data: DatasetInput, name: str | None = None) -> DatasetOut:
        name = (name or data.default_name).strip()
        if not name or len(name) > 200:
            raise InvalidDataset("A dataset name of 1 to 200 characters is required.")
        names = list(data.labels)
        self._check_labels(data)
        with self.blobs.staging() as staging:
            items = self._check_recordings(data, names, staging)
            dataset = Dataset(name=name, source=data.origin, created_by=self.actor)
            self.repo.add_recordings(dataset, items)
            out = self._out(dataset, self.repo.tallies([dataset.id]))
            self.audit.record(
                self.actor,
                "create",
                "dataset",
                dataset.id,
                name=name,
                source=data.origin,
                items=out.item_count,
                by_label=out.by_label,
            )
            # Last: the rows are written and only the commit is left (a failed commit leaves
            # files no row refers to, which the next purge sweeps away).
            staging.publish()
        return out

    def _check_labels(self, data: DatasetInput) -> None:
        """What can be refused before reading any recording."""
        if data.unmatched:
            first = data.unmatched[0]
            raise InvalidLabels(
                f"{first.where}: {first.path} is not in {data.described}"
                + (f" ({len(data.unmatched) - 1} more rows like it)" if data.unmatched[1:] else "")
                + "; every row names a recording, by its path relative to the CSV's folder.",
                missing=[e.path for e in data.unmatched[:100]],
            )
        if data.unlabelled:
            shown = ", ".join(data.unlabelled[:5])
            more = len(data.unlabelled) - 5
            raise InvalidLabels(
                f"No label for {shown}{f' and {more} more' if more > 0 else ''} in "
                f"{data.described}: every recording needs a row ({CSV_COLUMNS_TEXT}); add the "
                "rows or remove the files.",
                unlabelled=data.unlabelled[:100],
            )
        if not data.labels:
            raise InvalidDataset(f"No recordings in {data.described}.")
        limit = self.settings.max_dataset_files
        if len(data.labels) > limit:
            raise DatasetTooLarge(
                f"{data.described} holds {len(data.labels)} recordings; at most {limit} per "
                "dataset (VOXGUARD_MAX_DATASET_FILES).",
                files=len(data.labels),
                max_files=limit,
            )
        present = {entry.label for entry in data.labels.values()}
        if len(present) < len(DatasetLabel):
            (only,) = present
            raise SingleClassDataset(
                f"Every recording in {data.described} is labelled {only}: a dataset needs both "
                f"classes, {ACCEPTED_LABELS_TEXT}.",
                label=only,
            )

    def _check_recordings(
        self, data: DatasetInput, names: Sequence[str], staging: Staging
    ) -> list[DatasetItem]:
        """Read, decode and stage each recording in turn (one in memory at a time)."""
        front_end = self._front_end or AudioFrontEnd(self.settings)
        max_bytes, total = self.settings.max_dataset_bytes, 0
        first_of: dict[str, str] = {}
        items = []
        for name in names:
            entry = data.labels[name]
            item = data.source.read(name)
            total += len(item.data)
            if total > max_bytes:
                raise DatasetTooLarge(
                    f"{data.described}: its recordings are over the "
                    f"{self.settings.max_dataset_mb:g} MB a dataset may hold "
                    f"(VOXGUARD_MAX_DATASET_MB), reached at {name}.",
                    max_bytes=max_bytes,
                )
            analyzed = analyze(front_end, item)
            duration = analyzed.clip.metadata.duration_s
            if duration < self.settings.dataset_min_duration_s:
                raise AudioTooShort(
                    f"{name}: {duration:.2f} s long; a dataset recording lasts at least "
                    f"{self.settings.dataset_min_duration_s:g} s "
                    "(VOXGUARD_DATASET_MIN_DURATION_S).",
                    filename=name,
                    duration_s=duration,
                )
            require_speech(analyzed, name)
            sha256 = staging.add(item.data)
            if sha256 in first_of:
                raise DuplicateRecording(
                    f"{first_of[sha256]} and {name} are the same recording (SHA-256 "
                    f"{sha256[:12]}...): keep one of them.",
                    files=[first_of[sha256], name],
                    sha256=sha256,
                )
            first_of[sha256] = name
            items.append(_item(entry, sha256, len(item.data), analyzed))
        return items

    # --- read ---------------------------------------------------------------------------

    def list_datasets(self, offset: int = 0, limit: int = 50) -> DatasetPage:
        rows, total = self.repo.page(offset, limit)
        tallies = self.repo.tallies([r.id for r in rows])
        items = [self._out(r, [t for t in tallies if t.dataset_id == r.id]) for r in rows]
        return DatasetPage(items=items, total=total, offset=offset, limit=limit)

    def get(self, dataset_id: str, offset: int = 0, limit: int = 100) -> DatasetDetail:
        dataset = self._get(dataset_id)
        out = self._out(dataset, self.repo.tallies([dataset.id]))
        rows = self.repo.items(dataset.id, offset, limit)
        return DatasetDetail(
            **out.model_dump(),
            items=[DatasetItemOut.model_validate(r) for r in rows],
            offset=offset,
            limit=limit,
        )

    # --- delete and purge ---------------------------------------------------------------

    def delete(self, dataset_id: str) -> None:
        dataset = self._get(dataset_id)
        unused = self._remove(dataset, "delete")
        self.repo.after_commit(lambda: self._remove_files(unused))

    def purge(self, now: datetime | None = None) -> PurgeOut:
        """Remove the datasets older than VOXGUARD_DATASET_RETENTION_DAYS, their blobs no
        other dataset uses, and blob files no row refers to (left by a failed commit)."""
        days = self.settings.dataset_retention_days
        cutoff = (now or utcnow()) - timedelta(days=days)
        expired = self.repo.created_before(cutoff)
        unused: list[str] = []
        for dataset in expired:
            unused += self._remove(dataset, "purge", retention_days=days)
        known = self.repo.all_blobs()
        orphans = self.blobs.sweep(known.__contains__, ORPHAN_GRACE_S)
        self.repo.after_commit(lambda: self._remove_files(unused))
        return PurgeOut(
            retention_days=days,
            cutoff=cutoff,
            datasets=[d.id for d in expired],
            blobs_removed=len(unused),
            orphans_removed=len(orphans),
        )

    def _remove(self, dataset: Dataset, action: str, **detail: object) -> list[str]:
        dataset_id, name = dataset.id, dataset.name
        unused = self.repo.delete(dataset)
        self.audit.record(
            self.actor,
            action,
            "dataset",
            dataset_id,
            name=name,
            blobs_removed=len(unused),
            **detail,
        )
        return unused

    def _remove_files(self, hashes: list[str]) -> None:
        self.blobs.remove(hashes)

    def _get(self, dataset_id: str) -> Dataset:
        dataset = self.repo.get(dataset_id)
        if dataset is None:
            raise DatasetNotFound(f"No dataset with id {dataset_id!r}.", dataset_id=dataset_id)
        return dataset

    def _out(self, dataset: Dataset, tallies: Sequence[Tally]) -> DatasetOut:
        by_label = dict.fromkeys((label.value for label in DatasetLabel), 0)
        by_system: dict[str, int] = {}
        for t in tallies:
            by_label[t.label] = by_label.get(t.label, 0) + t.items
            if t.system is not None:
                by_system[t.system] = by_system.get(t.system, 0) + t.items
        return DatasetOut(
            id=dataset.id,
            name=dataset.name,
            source=dataset.source,
            created_at=dataset.created_at,
            created_by=dataset.created_by,
            expires_at=dataset.created_at + timedelta(days=self.settings.dataset_retention_days),
            item_count=sum(t.items for t in tallies),
            by_label=by_label,
            by_system=dict(sorted(by_system.items())),
            duration_s=round(sum(t.duration_s for t in tallies), 3),
            speech_s=round(sum(t.speech_s for t in tallies), 3),
            size_bytes=sum(t.size_bytes for t in tallies),
        )


def _item(entry: LabelEntry, sha256: str, size: int, analyzed: AnalyzedAudio) -> DatasetItem:
    meta = analyzed.clip.metadata
    return DatasetItem(
        path=entry.path,
        label=entry.label.value,
        system=entry.system,
        sha256=sha256,
        size_bytes=size,
        duration_s=round(meta.duration_s, 3),
        speech_s=analyzed.quality.speech_s,
        sample_rate=meta.original_sample_rate,
        channels=meta.channels,
        codec=meta.codec,
    )
