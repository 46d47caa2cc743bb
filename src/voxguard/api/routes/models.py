"""The model registry: list and show (reader), retrain, promote and roll back (admin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from voxguard.api.deps import AdminDep, JobQueueDep, ReaderDep, RuntimeDep, SessionDep
from voxguard.errors import ModelVersionNotFound
from voxguard.services.job_schemas import JobOut
from voxguard.services.model_registry import (
    BUNDLED,
    DET_PLOT,
    ModelRegistry,
    ModelVersionOut,
    check_kind,
)
from voxguard.services.retrain import submit_retrain

router = APIRouter(prefix="/v1/models", tags=["models"])


class RetrainRequest(BaseModel):
    datasets: list[str] = Field(min_length=1, max_length=100, description="dataset ids")
    base: str = Field(default=BUNDLED, description='"bundled" or a registered version')
    regression: str | None = Field(
        default=None,
        description="a dataset to score candidate and parent on, left out of training "
        "(default VOXGUARD_REGRESSION_DATASET)",
    )


@router.get("")
def list_models(
    runtime: RuntimeDep, session: SessionDep, principal: ReaderDep
) -> list[ModelVersionOut]:
    """Every version of every kind, the bundled model first; ``status`` says which is active."""
    return ModelRegistry(session, runtime.settings, principal.actor).list()


@router.post("/spoof/retrain", status_code=202)
def retrain_spoof(
    body: RetrainRequest,
    runtime: RuntimeDep,
    queue: JobQueueDep,
    principal: AdminDep,
    response: Response,
) -> JobOut:
    """Refit the spoof detector's read-out on datasets in a background job; the result is a
    candidate (GET /v1/models), served only once promoted."""
    job = submit_retrain(
        runtime.store,
        runtime.settings,
        queue,
        principal.actor,
        body.datasets,
        body.base,
        body.regression,
    )
    response.headers["Location"] = job.links.self
    return job


@router.get("/{kind}/{version}")
def get_model(
    kind: str, version: str, runtime: RuntimeDep, session: SessionDep, principal: ReaderDep
) -> ModelVersionOut:
    return ModelRegistry(session, runtime.settings, principal.actor).get(kind, version)


@router.get("/{kind}/{version}/det.png", response_class=FileResponse)
def get_det_plot(
    kind: str, version: str, runtime: RuntimeDep, session: SessionDep, principal: ReaderDep
) -> FileResponse:
    """The candidate's DET plot on its held-out recordings, next to its parent's."""
    folder = ModelRegistry(session, runtime.settings, principal.actor).model_dir(kind, version)
    if folder is None or not (folder / DET_PLOT).is_file():
        raise ModelVersionNotFound(f"{kind} model {version} has no DET plot.", version=version)
    return FileResponse(folder / DET_PLOT, media_type="image/png")


@router.post("/{kind}/{version}/promote")
def promote_model(
    kind: str,
    version: str,
    runtime: RuntimeDep,
    session: SessionDep,
    principal: AdminDep,
    force: Annotated[
        bool, Query(description="promote even when its evaluation says it is worse")
    ] = False,
) -> ModelVersionOut:
    """Serve this version from now on (409 with the reason when its evaluation is worse than
    the active model's on the same recordings by more than VOXGUARD_PROMOTE_TOLERANCE)."""
    return ModelRegistry(session, runtime.settings, principal.actor).promote(
        check_kind(kind), version, force
    )


@router.post("/{kind}/rollback")
def rollback_model(
    kind: str, runtime: RuntimeDep, session: SessionDep, principal: AdminDep
) -> ModelVersionOut:
    """Back to the version that was active before the active one; the one now served."""
    return ModelRegistry(session, runtime.settings, principal.actor).rollback(kind)
