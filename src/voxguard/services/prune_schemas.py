"""Housekeeping (``prune``) as the API takes and answers it and the CLI prints it."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

# Jobs named in a report, at most (the counts are always whole).
LIST_LIMIT = 1000


class PruneOptions(BaseModel):
    dry_run: bool = Field(default=False, description="report what would be deleted; change nothing")
    older_than_days: int | None = Field(
        default=None,
        ge=0,
        le=36500,
        description="the retention of this run, for jobs and models alike (default "
        "VOXGUARD_JOB_RETENTION_DAYS and VOXGUARD_MODEL_RETENTION_DAYS, 30 each)",
    )
    delete_job_records: bool = Field(
        default=False,
        description="also delete those jobs' records (their audit log entries stay)",
    )
    purge_kept_audio: bool = Field(
        default=False,
        description="delete every kept enrollment recording, files and rows; refused while "
        "VOXGUARD_KEEP_ENROLLMENT_AUDIO is on or a reembed job is queued or running",
    )


class PrunedJob(BaseModel):
    id: str
    kind: str
    status: str
    finished_at: datetime | None
    size_bytes: int = Field(description="of its folder: results and any kept inputs")
    record_deleted: bool


class JobsPruned(BaseModel):
    retention_days: int
    cutoff: datetime = Field(description="jobs finished before this")
    folders: int = Field(description="job folders (results, kept inputs) deleted")
    records_deleted: int
    orphan_folders: int = Field(description="folders of jobs with no record, an hour untouched")
    size_bytes: int
    jobs: list[PrunedJob] = Field(description=f"the jobs pruned, at most {LIST_LIMIT}")
    truncated: bool = Field(description="more jobs were pruned than listed")


class PrunedModel(BaseModel):
    kind: str
    version: str
    status: str = Field(
        description="before this run: candidate or retired (pruned: files an earlier run "
        "could not delete)"
    )
    created_at: datetime
    promoted_at: datetime | None
    size_bytes: int


class KeptModel(BaseModel):
    kind: str
    version: str
    status: str
    reason: str = Field(description="why its files stay")


class ModelsPruned(BaseModel):
    retention_days: int
    cutoff: datetime = Field(description="versions created and last promoted before this")
    removed: list[PrunedModel]
    kept: list[KeptModel]
    size_bytes: int


class KeptAudioPruned(BaseModel):
    keeping: bool = Field(description="VOXGUARD_KEEP_ENROLLMENT_AUDIO where prune ran")
    recordings: int = Field(description="kept enrollment recordings before this run")
    orphan_files: int = Field(description="files no row refers to, an hour old")
    orphan_rows: int = Field(description="rows of speakers that no longer exist")
    purged_recordings: int = Field(description="with purge_kept_audio: every kept recording")
    purged_speakers: int
    size_bytes: int


class PruneReport(BaseModel):
    dry_run: bool = Field(description="true: nothing was deleted, this is what would be")
    jobs: JobsPruned
    models: ModelsPruned
    kept_audio: KeptAudioPruned
    size_bytes: int = Field(description="every file deleted (or that would be), together")
