"""Background jobs as the API shows them and the CLI prints them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from voxguard.store.models import Job


class JobKind(StrEnum):
    DETECT = "detect"
    ANALYZE = "analyze"
    RETRAIN = "retrain"  # refit the spoof detector's read-out on datasets (no files of its own)
    REEMBED = "reembed"  # new voiceprints after a speaker model change (no files of its own)


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in FINISHED


FINISHED = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED})
ACTIVE = frozenset({JobStatus.QUEUED, JobStatus.RUNNING})


class ResultsFormat(StrEnum):
    JSONL = "jsonl"
    CSV = "csv"


class JobProgress(BaseModel):
    done: int = Field(description="files processed, failed ones included")
    failed: int
    total: int


class JobLinks(BaseModel):
    self: str
    results: str


class JobOut(BaseModel):
    id: str
    kind: JobKind
    status: JobStatus
    progress: JobProgress
    created_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    attempts: int
    error: str | None
    summary: dict[str, Any] | None = Field(
        description="counts over the results once finished (files, ok, failed, and per kind)"
    )
    result_path: str | None = Field(description="results.jsonl, relative to the jobs folder")
    links: JobLinks

    @classmethod
    def of(cls, row: Job) -> JobOut:
        return cls(
            id=row.id,
            kind=JobKind(row.kind),
            status=JobStatus(row.status),
            progress=JobProgress(
                done=row.files_done, failed=row.files_failed, total=row.files_total
            ),
            created_by=row.created_by,
            created_at=row.created_at,
            started_at=row.started_at,
            finished_at=row.finished_at,
            attempts=row.attempts,
            error=row.error,
            summary=row.summary,
            result_path=row.result_path,
            links=JobLinks(self=f"/v1/jobs/{row.id}", results=f"/v1/jobs/{row.id}/results"),
        )


class JobPage(BaseModel):
    items: list[JobOut]
    total: int
    offset: int
    limit: int
