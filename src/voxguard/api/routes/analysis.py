"""Long recordings: who spoke when, who each voice is, which turns are synthetic."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Query, UploadFile

from voxguard.api.deps import OperatorDep, RuntimeDep, SessionDep, read_uploads
from voxguard.services.analysis import AnalysisService
from voxguard.services.schemas import AnalyzeOut

router = APIRouter(prefix="/v1", tags=["analysis"])


@router.post("/analyze")
def analyze(
    file: Annotated[UploadFile, File(description="A recording of one or more speakers.")],
    runtime: RuntimeDep,
    session: SessionDep,
    principal: OperatorDep,
    num_speakers: Annotated[
        int | None, Query(ge=1, le=20, description="the number of speakers, when known")
    ] = None,
) -> AnalyzeOut:
    """Speaker turns on the recording's time axis, each speaker identified (open set) and
    checked for synthetic speech, the risk, and an alert for each risky speaker."""
    (item,) = read_uploads([file], runtime.settings)
    return AnalysisService(runtime, session, principal.actor).analyze(item, num_speakers)
