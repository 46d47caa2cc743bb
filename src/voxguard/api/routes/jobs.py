"""Background jobs: many recordings, or long ones, run by the job workers, not the request."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Query, Response, UploadFile
from fastapi.responses import StreamingResponse

from voxguard.api.deps import JobQueueDep, OperatorDep, ReaderDep, RuntimeDep, SessionDep
from voxguard.services import jobs as service
from voxguard.services.job_files import Upload
from voxguard.services.job_schemas import JobKind, JobOut, JobPage, ResultsFormat
from voxguard.services.jobs import JobService
from voxguard.store.filters import JobFilter

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])
Files = Annotated[
    list[UploadFile],
    File(description="Recordings (see /v1/info for formats), or one .zip of them."),
]
_MEDIA = {ResultsFormat.JSONL: "application/x-ndjson", ResultsFormat.CSV: "text/csv"}


def _uploads(files: list[UploadFile]) -> list[Upload]:
    return [Upload(f.filename or f"file{i + 1}", f.file) for i, f in enumerate(files)]


def _accepted(job: JobOut, response: Response) -> JobOut:
    response.headers["Location"] = job.links.self
    return job


@router.post("/detect", status_code=202)
def create_detect_job(
    files: Files,
    runtime: RuntimeDep,
    queue: JobQueueDep,
    principal: OperatorDep,
    response: Response,
) -> JobOut:
    """Is each recording synthetic? Queued at once (202); poll the job, then get its results."""
    job = service.submit(
        runtime.store, runtime.settings, queue, principal.actor, JobKind.DETECT, _uploads(files)
    )
    return _accepted(job, response)


@router.post("/analyze", status_code=202)
def create_analyze_job(
    files: Files,
    runtime: RuntimeDep,
    queue: JobQueueDep,
    principal: OperatorDep,
    response: Response,
    num_speakers: Annotated[
        int | None, Query(ge=1, le=20, description="the number of speakers, when known")
    ] = None,
) -> JobOut:
    """Long recordings: who spoke when, who each voice is, which turns are synthetic (as
    POST /v1/analyze, one result per recording), run in the background."""
    job = service.submit(
        runtime.store,
        runtime.settings,
        queue,
        principal.actor,
        JobKind.ANALYZE,
        _uploads(files),
        num_speakers,
    )
    return _accepted(job, response)


@router.get("")
def list_jobs(
    spec: Annotated[JobFilter, Query()],
    runtime: RuntimeDep,
    session: SessionDep,
    principal: ReaderDep,
) -> JobPage:
    """Newest first; filter by status and kind."""
    return JobService(session, runtime.settings, principal.actor).list(spec)


@router.get("/{job_id}")
def get_job(job_id: str, runtime: RuntimeDep, session: SessionDep, principal: ReaderDep) -> JobOut:
    return JobService(session, runtime.settings, principal.actor).get(job_id)


@router.delete("/{job_id}")
def cancel_job(
    job_id: str, runtime: RuntimeDep, session: SessionDep, principal: OperatorDep
) -> JobOut:
    """Cancel: a queued job never starts; a running one stops after the file it is on."""
    return JobService(session, runtime.settings, principal.actor).cancel(job_id)


@router.get("/{job_id}/results")
def job_results(
    job_id: str,
    runtime: RuntimeDep,
    session: SessionDep,
    principal: ReaderDep,
    fmt: Annotated[
        ResultsFormat,
        Query(alias="format", description="jsonl: each whole result; csv: the key columns"),
    ] = ResultsFormat.JSONL,
) -> StreamingResponse:
    """One line per file, streamed; 409 while the job is queued or running."""
    lines = JobService(session, runtime.settings, principal.actor).results(job_id, fmt)
    disposition = f'attachment; filename="job-{job_id}.{fmt}"'
    return StreamingResponse(
        lines, media_type=_MEDIA[fmt], headers={"Content-Disposition": disposition}
    )
