"""Enrollment and speaker management."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Response, UploadFile, status

from voxguard.api.deps import (
    AdminDep,
    JobQueueDep,
    OperatorDep,
    ReaderDep,
    RuntimeDep,
    SessionDep,
    read_uploads,
)
from voxguard.services.engines import require_speaker
from voxguard.services.job_schemas import JobOut
from voxguard.services.reembed import submit_reembed
from voxguard.services.schemas import EnrollOut, SpeakerOut, SpeakerPage
from voxguard.services.speakers import EnrollmentService, SpeakerDirectory
from voxguard.store.filters import MAX_OFFSET

router = APIRouter(prefix="/v1/speakers", tags=["speakers"])
Files = Annotated[list[UploadFile], File(description="One or more recordings of the speaker.")]


@router.post("", status_code=status.HTTP_201_CREATED)
def enroll(
    name: Annotated[str, Form(min_length=1, max_length=200)],
    files: Files,
    runtime: RuntimeDep,
    session: SessionDep,
    principal: OperatorDep,
    external_id: Annotated[str | None, Form(max_length=200)] = None,
) -> EnrollOut:
    inputs = read_uploads(files, runtime.settings)
    return EnrollmentService(runtime, session, principal.actor).enroll(name, inputs, external_id)


@router.post("/reembed", status_code=status.HTTP_202_ACCEPTED)
def reembed_speakers(
    runtime: RuntimeDep, queue: JobQueueDep, principal: AdminDep, response: Response
) -> JobOut:
    """After a speaker model change: a background job gives every speaker with no voiceprint
    of the loaded model a new one, made from their kept enrollment recordings
    (VOXGUARD_KEEP_ENROLLMENT_AUDIO); its summary lists those who must enroll again. 409
    while another such job is queued or running."""
    job = submit_reembed(runtime, queue, principal.actor)
    response.headers["Location"] = job.links.self
    return job


@router.post("/{speaker_id}/samples")
def add_samples(
    speaker_id: str, files: Files, runtime: RuntimeDep, session: SessionDep, principal: OperatorDep
) -> EnrollOut:
    inputs = read_uploads(files, runtime.settings)
    return EnrollmentService(runtime, session, principal.actor).add_samples(speaker_id, inputs)


@router.get("")
def list_speakers(
    session: SessionDep,
    runtime: RuntimeDep,
    principal: ReaderDep,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    q: Annotated[
        str | None, Query(max_length=200, description="part of a name or external id")
    ] = None,
    stale: Annotated[
        bool,
        Query(description="only speakers with no voiceprint of the current speaker model"),
    ] = False,
) -> SpeakerPage:
    version = require_speaker(runtime.speaker).model_version if stale else None
    return SpeakerDirectory(session, principal.actor).list(offset, limit, q or None, version)


@router.get("/{speaker_id}")
def get_speaker(speaker_id: str, session: SessionDep, principal: ReaderDep) -> SpeakerOut:
    return SpeakerDirectory(session, principal.actor).get(speaker_id)


@router.delete("/{speaker_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_speaker(
    speaker_id: str, runtime: RuntimeDep, session: SessionDep, principal: AdminDep
) -> Response:
    """The speaker, their voiceprints and their kept enrollment recordings."""
    SpeakerDirectory(session, principal.actor, runtime.settings).delete(speaker_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
