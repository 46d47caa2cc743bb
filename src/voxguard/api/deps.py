"""Annotated dependencies: settings, runtime, the request's unit of work, and credentials."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request, UploadFile
from sqlalchemy.orm import Session

from voxguard.api.metrics import Metrics
from voxguard.config import Settings
from voxguard.errors import AudioTooLarge, AuthenticationRequired
from voxguard.services.audio_input import AudioInput
from voxguard.services.auth import AuthService, Principal
from voxguard.services.job_queue import JobQueue
from voxguard.services.runtime import Runtime
from voxguard.services.schemas import Role
from voxguard.store.db import unit_of_work


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def get_metrics(request: Request) -> Metrics:
    metrics: Metrics = request.app.state.metrics
    return metrics


def get_job_queue(request: Request) -> JobQueue:
    queue: JobQueue = request.app.state.jobs
    return queue


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
JobQueueDep = Annotated[JobQueue, Depends(get_job_queue)]


def get_settings(runtime: RuntimeDep) -> Settings:
    return runtime.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_session(runtime: RuntimeDep) -> Iterator[Session]:
    # The request's one unit of work: committed before the response is sent, rolled back
    # on any error (scope="function" ends it before the response goes out).
    with unit_of_work(runtime.store.sessions) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def credential_of(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    key = request.headers.get("x-api-key", "").strip()
    if key:
        return key
    raise AuthenticationRequired(
        "Credentials required: send 'Authorization: Bearer <API key or token>' or 'X-API-Key'."
    )


def get_principal(request: Request, session: SessionDep, runtime: RuntimeDep) -> Principal:
    principal = AuthService(session, runtime.settings).authenticate(credential_of(request))
    runtime.limiter.hit(principal.key_id)
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def _role(role: Role) -> Callable[[Principal], Principal]:
    def require(principal: PrincipalDep) -> Principal:
        principal.require(role)
        return principal

    return require


ReaderDep = Annotated[Principal, Depends(_role(Role.READER))]
OperatorDep = Annotated[Principal, Depends(_role(Role.OPERATOR))]
AdminDep = Annotated[Principal, Depends(_role(Role.ADMIN))]


def read_uploads(files: list[UploadFile], settings: Settings) -> list[AudioInput]:
    """Read each part, refusing one over the per-file limit without reading it whole."""
    limit = settings.max_upload_bytes
    inputs = []
    for index, upload in enumerate(files):
        name = upload.filename or f"file{index + 1}"
        data = upload.file.read(limit + 1)
        if len(data) > limit:
            raise AudioTooLarge(
                f"{name}: the file is over the {limit / 1e6:.1f} MB limit.",
                filename=name,
                max_bytes=limit,
            )
        inputs.append(AudioInput(filename=name, data=data))
    return inputs
