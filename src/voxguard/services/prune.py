"""Housekeeping: delete what is no longer needed, never what is still in use.

- **Jobs**: the folders (results.jsonl, inputs kept with VOXGUARD_KEEP_JOB_INPUTS) of jobs
  that finished before the retention; their records stay (``files_pruned_at`` in their
  params, the results answer 410) unless ``delete_job_records``. Folders of jobs with no
  record go once untouched for an hour. A queued or running job's folder is never touched,
  nor that of a job cancelled while running until its worker has let go of it.
- **Models**: the folders of registered versions that are not active, not the active one's
  rollback target, not the base of a queued or running retrain job, and neither created nor
  promoted within the retention; their rows stay, status ``pruned``. The bundled model lives
  in the package and is never touched.
- **Kept enrollment recordings**: files no row refers to (an hour old) and rows of speakers
  that are gone; with ``purge_kept_audio``, and only while VOXGUARD_KEEP_ENROLLMENT_AUDIO is
  off, every kept recording.

Rows change in the caller's unit of work and files go once it has committed: a file that
cannot be deleted is logged, and the next run finds it again. A dry run changes nothing.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from voxguard.config import Settings
from voxguard.errors import PruneRefused
from voxguard.services.job_files import PRUNED_AT
from voxguard.services.job_schemas import ACTIVE, FINISHED, JobKind
from voxguard.services.model_registry import KINDS, PRUNED, version_dir
from voxguard.services.prune_schemas import (
    LIST_LIMIT,
    JobsPruned,
    KeptAudioPruned,
    KeptModel,
    ModelsPruned,
    PrunedJob,
    PrunedModel,
    PruneOptions,
    PruneReport,
)
from voxguard.services.speaker_samples import ORPHAN_GRACE_S
from voxguard.store.audit import AuditRepository
from voxguard.store.blobs import BlobStore
from voxguard.store.jobs import JobRepository
from voxguard.store.model_versions import ModelVersionRepository
from voxguard.store.models import Job, ModelVersion, utcnow
from voxguard.store.speaker_samples import SpeakerSampleRepository

log = logging.getLogger(__name__)

_JOB_ID = re.compile(r"[0-9a-f]{32}")  # ``new_id()``: anything else in the folder stays
_PRUNABLE_MODELS = ("candidate", "retired")


@dataclass
class _Job:
    row: Job
    folder: Path | None
    size: int


class PruneService:
    def __init__(self, session: Session, settings: Settings, actor: str) -> None:
        self.jobs = JobRepository(session)
        self.models = ModelVersionRepository(session)
        self.samples = SpeakerSampleRepository(session)
        self.audit = AuditRepository(session)
        self.kept_files = BlobStore(settings.speaker_samples_dir)
        self.settings = settings
        self.actor = actor
        self._deletions: list[Callable[[], None]] = []

    def prune(self, options: PruneOptions, now: datetime | None = None) -> PruneReport:
        """Delete (or, in a dry run, list) what the options ask for; what went."""
        now = now or utcnow()
        self._refuse(options)
        jobs = self._jobs(options, now)
        models = self._models(options, now)
        kept_audio = self._kept_audio(options)
        report = PruneReport(
            dry_run=options.dry_run,
            jobs=jobs,
            models=models,
            kept_audio=kept_audio,
            size_bytes=jobs.size_bytes + models.size_bytes + kept_audio.size_bytes,
        )
        if not options.dry_run:
            self.audit.record(self.actor, "prune", "storage", None, **_audit_detail(report))
            self.jobs.after_commit(self._delete_files)
        return report

    def _delete_files(self) -> None:
        for delete in self._deletions:
            delete()

    def _refuse(self, options: PruneOptions) -> None:
        if not options.purge_kept_audio:
            return
        if self.settings.keep_enrollment_audio:
            raise PruneRefused(
                "Enrollment recordings are being kept (VOXGUARD_KEEP_ENROLLMENT_AUDIO is on): "
                "turn it off, for the API and the workers too, before purging them.",
            )
        active = self.jobs.of_kind(JobKind.REEMBED, ACTIVE)
        if active:
            raise PruneRefused(
                f"Re-embedding job {active[0].id} is {active[0].status}: it reads the kept "
                "recordings; purge them once it has finished.",
                job_id=active[0].id,
            )

    # --- jobs ---------------------------------------------------------------------------

    def _jobs(self, options: PruneOptions, now: datetime) -> JobsPruned:
        days = _days(options, self.settings.job_retention_days)
        cutoff = now - timedelta(days=days)
        unheard = now - timedelta(seconds=self.settings.job_stale_s)
        folders = _job_folders(self.settings.resolved_jobs_dir)
        ids = sorted(folders)
        rows = self.jobs.ended_before(
            FINISHED, cutoff, unheard, None if options.delete_job_records else ids
        )
        pruned = [_Job(r, folders.get(r.id), _size(folders.get(r.id))) for r in rows]
        known = self.jobs.existing(ids)
        orphans = [
            folders[i]
            for i in ids
            if i not in known and _newest_mtime(folders[i]) < time.time() - ORPHAN_GRACE_S
        ]
        size = sum(j.size for j in pruned) + sum(_size(f) for f in orphans)
        if not options.dry_run:
            self._apply_jobs(pruned, orphans, options.delete_job_records, now)
        return JobsPruned(
            retention_days=days,
            cutoff=cutoff,
            folders=sum(j.folder is not None for j in pruned),
            records_deleted=len(pruned) if options.delete_job_records else 0,
            orphan_folders=len(orphans),
            size_bytes=size,
            jobs=[
                PrunedJob(
                    id=j.row.id,
                    kind=j.row.kind,
                    status=j.row.status,
                    finished_at=j.row.finished_at,
                    size_bytes=j.size,
                    record_deleted=options.delete_job_records,
                )
                for j in pruned[:LIST_LIMIT]
            ],
            truncated=len(pruned) > LIST_LIMIT,
        )

    def _apply_jobs(
        self, pruned: list[_Job], orphans: list[Path], delete_records: bool, now: datetime
    ) -> None:
        for job in pruned:
            if not delete_records:
                # Its results are gone: GET .../results says so instead of answering empty.
                job.row.params = {**job.row.params, PRUNED_AT: now.isoformat()}
                job.row.result_path = None
            self.audit.record(
                self.actor,
                "prune",
                "job",
                job.row.id,
                kind=job.row.kind,
                status=job.row.status,
                size_bytes=job.size,
                record_deleted=delete_records,
            )
        if delete_records:
            self.jobs.delete_ids([j.row.id for j in pruned])
        self.jobs.session.flush()
        gone = [j.folder for j in pruned if j.folder is not None] + orphans
        self._deletions.append(lambda: _remove_trees(gone))

    # --- models -------------------------------------------------------------------------

    def _models(self, options: PruneOptions, now: datetime) -> ModelsPruned:
        days = _days(options, self.settings.model_retention_days)
        cutoff = now - timedelta(days=days)
        bases = {
            job.params.get("base"): job.id for job in self.jobs.of_kind(JobKind.RETRAIN, ACTIVE)
        }
        removed: list[PrunedModel] = []
        kept: list[KeptModel] = []
        folders: list[Path] = []
        for kind in KINDS:
            active = self.models.active(kind)
            rollback_to = active.replaced if active else None
            for row in self.models.list(kind):
                status, folder = row.status, self._model_folder(row)
                if status == PRUNED and (folder is None or not folder.exists()):
                    continue  # pruned by an earlier run
                reason = _keep_reason(row, rollback_to, bases, cutoff, days, folder)
                if reason is None and not options.dry_run and not self._mark_pruned(row):
                    reason = "its status changed while prune ran"
                if reason is not None:
                    kept.append(
                        KeptModel(kind=kind, version=row.version, status=status, reason=reason)
                    )
                    continue
                assert folder is not None  # _keep_reason keeps a version without one
                size = _size(folder)
                removed.append(
                    PrunedModel(
                        kind=kind,
                        version=row.version,
                        status=status,
                        created_at=row.created_at,
                        promoted_at=row.promoted_at,
                        size_bytes=size,
                    )
                )
                folders.append(folder)
                if not options.dry_run:
                    self.audit.record(
                        self.actor,
                        "prune",
                        "model",
                        f"{kind}/{row.version}",
                        status=status,
                        size_bytes=size,
                    )
        if not options.dry_run:
            self._deletions.append(lambda: _remove_trees(folders))
        return ModelsPruned(
            retention_days=days,
            cutoff=cutoff,
            removed=removed,
            kept=kept,
            size_bytes=sum(m.size_bytes for m in removed),
        )

    def _mark_pruned(self, row: ModelVersion) -> bool:
        """One conditional UPDATE: a version promoted since it was read stays as it is."""
        return row.status == PRUNED or self.models.change_status(row.id, _PRUNABLE_MODELS, PRUNED)

    def _model_folder(self, row: ModelVersion) -> Path | None:
        """The version's folder, if it is where the registry puts it (never anything else
        a damaged row might name)."""
        folder = self.settings.data_dir / row.path
        expected = version_dir(self.settings, row.kind, row.version)
        if folder.is_symlink() or folder.resolve() != expected.resolve():
            return None
        return folder

    # --- kept enrollment recordings -----------------------------------------------------

    def _kept_audio(self, options: PruneOptions) -> KeptAudioPruned:
        files = self.kept_files
        counts = self.samples.counts_by_speaker()
        known = self.samples.all_hashes()
        orphans = files.orphans(known.__contains__, ORPHAN_GRACE_S)
        gone = self.samples.without_speaker()
        gone_hashes = {row.sha256 for row in gone}
        gone_speakers = {row.speaker_id for row in gone}
        purged = sorted(known - gone_hashes) if options.purge_kept_audio else []
        speakers = {s: n for s, n in counts.items() if s not in gone_speakers}
        size = sum(_file_size(p) for p in orphans)
        size += sum(files.size(sha) for sha in [*gone_hashes, *purged])
        if not options.dry_run:
            if gone:
                self.samples.delete_ids([row.id for row in gone])
            if options.purge_kept_audio:
                self.samples.delete_all()
                for speaker_id, n in sorted(speakers.items()):
                    self.audit.record(
                        self.actor, "purge_audio", "speaker", speaker_id, recordings_removed=n
                    )
            hashes = [p.name for p in orphans] + sorted(gone_hashes) + purged
            staging = files.stale_staging(ORPHAN_GRACE_S)

            def delete() -> None:
                files.remove(hashes)
                _remove_trees(staging)

            self._deletions.append(delete)
        return KeptAudioPruned(
            keeping=self.settings.keep_enrollment_audio,
            recordings=sum(counts.values()),
            orphan_files=len(orphans),
            orphan_rows=len(gone),
            purged_recordings=len(purged),
            purged_speakers=len(speakers) if options.purge_kept_audio else 0,
            size_bytes=size,
        )


def _days(options: PruneOptions, default: int) -> int:
    return default if options.older_than_days is None else options.older_than_days


def _keep_reason(
    row: ModelVersion,
    rollback_to: str | None,
    bases: dict[Any, str],
    cutoff: datetime,
    days: int,
    folder: Path | None,
) -> str | None:
    """Why the version's files stay; None when they may go."""
    if row.status == "active":
        return "active"
    if row.version == rollback_to:
        return "the rollback target of the active version"
    if row.version in bases:
        return f"the base of retrain job {bases[row.version]}, queued or running"
    if folder is None:
        return "its path is not a folder inside the models folder: left alone"
    if row.status == PRUNED:
        return None  # files an earlier run could not delete
    last = max(row.created_at, row.promoted_at or row.created_at)
    if last >= cutoff:
        return f"created or promoted within {days} days"
    return None


def _job_folders(root: Path) -> dict[str, Path]:
    if not root.is_dir():
        return {}
    return {
        p.name: p
        for p in root.iterdir()
        if _JOB_ID.fullmatch(p.name) and p.is_dir() and not p.is_symlink()
    }


def _walk(folder: Path) -> list[os.stat_result]:
    """lstat of every entry under ``folder`` (links not followed)."""
    found = []
    for parent, dirs, names in os.walk(folder):
        for name in [*dirs, *names]:
            try:
                found.append((Path(parent) / name).lstat())
            except OSError:
                continue
    return found


def _size(folder: Path | None) -> int:
    """Bytes of the regular files under ``folder``."""
    if folder is None:
        return 0
    return sum(s.st_size for s in _walk(folder) if stat.S_ISREG(s.st_mode))


def _newest_mtime(folder: Path) -> float:
    """The newest change in the folder: an upload in progress writes deep inside it."""
    stats = _walk(folder)
    own = folder.stat().st_mtime
    return max([own, *(s.st_mtime for s in stats)])


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _remove_trees(folders: list[Path]) -> None:
    for folder in folders:
        try:
            shutil.rmtree(folder)
        except FileNotFoundError:
            continue
        except OSError as exc:  # left for the next run, which finds it again
            log.warning("prune: could not delete %s: %s", folder, exc)


def _audit_detail(report: PruneReport) -> dict[str, Any]:
    return {
        "jobs": report.jobs.folders,
        "job_records_deleted": report.jobs.records_deleted,
        "job_orphan_folders": report.jobs.orphan_folders,
        "job_retention_days": report.jobs.retention_days,
        "models": [f"{m.kind}/{m.version}" for m in report.models.removed],
        "model_retention_days": report.models.retention_days,
        "kept_audio_orphan_files": report.kept_audio.orphan_files,
        "kept_audio_orphan_rows": report.kept_audio.orphan_rows,
        "kept_audio_purged": report.kept_audio.purged_recordings,
        "size_bytes": report.size_bytes,
    }
