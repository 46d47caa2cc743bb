"""Verify, identify, check and detect: one upload (or, for privacy mode, its features) in,
one decision out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Query, UploadFile

from voxguard.api.deps import MetricsDep, OperatorDep, RuntimeDep, SessionDep, read_uploads
from voxguard.services.recognition import RecognitionService
from voxguard.services.schemas import (
    CheckOut,
    DetectOut,
    IdentifyFeaturesIn,
    IdentifyOut,
    VerifyFeaturesIn,
    VerifyOut,
)

router = APIRouter(prefix="/v1", tags=["recognition"])
Audio = Annotated[UploadFile, File(description="A recording (see /v1/info for formats).")]


@router.post("/verify")
def verify(
    speaker_id: Annotated[str, Form(min_length=1)],
    file: Audio,
    runtime: RuntimeDep,
    session: SessionDep,
    principal: OperatorDep,
) -> VerifyOut:
    (item,) = read_uploads([file], runtime.settings)
    return RecognitionService(runtime, session, principal.actor).verify(speaker_id, item)


@router.post("/identify")
def identify(
    file: Audio,
    runtime: RuntimeDep,
    session: SessionDep,
    principal: OperatorDep,
    top_k: Annotated[int | None, Query(ge=1, le=100)] = None,
) -> IdentifyOut:
    (item,) = read_uploads([file], runtime.settings)
    return RecognitionService(runtime, session, principal.actor).identify(item, top_k)


@router.post("/verify/features")
def verify_features(
    body: VerifyFeaturesIn, runtime: RuntimeDep, session: SessionDep, principal: OperatorDep
) -> VerifyOut:
    """Privacy mode: verify on speaker-encoder features computed by the client, no audio."""
    service = RecognitionService(runtime, session, principal.actor)
    return service.verify_features(body.speaker_id, body.features)


@router.post("/identify/features")
def identify_features(
    body: IdentifyFeaturesIn, runtime: RuntimeDep, session: SessionDep, principal: OperatorDep
) -> IdentifyOut:
    """Privacy mode: identify on speaker-encoder features computed by the client, no audio."""
    service = RecognitionService(runtime, session, principal.actor)
    return service.identify_features(body.features, body.top_k)


@router.post("/check")
def check(
    file: Audio,
    runtime: RuntimeDep,
    session: SessionDep,
    principal: OperatorDep,
    metrics: MetricsDep,
) -> CheckOut:
    (item,) = read_uploads([file], runtime.settings)
    result = RecognitionService(runtime, session, principal.actor).check(item)
    metrics.checks.labels(result.verdict, result.risk_level).inc()
    return result


@router.post("/detect")
def detect(
    file: Audio, runtime: RuntimeDep, session: SessionDep, principal: OperatorDep
) -> DetectOut:
    inputs = read_uploads([file], runtime.settings)
    return RecognitionService(runtime, session, principal.actor).detect(inputs)[0]


@router.post("/detect/batch")
def detect_batch(
    files: Annotated[list[UploadFile], File()],
    runtime: RuntimeDep,
    session: SessionDep,
    principal: OperatorDep,
) -> list[DetectOut]:
    inputs = read_uploads(files, runtime.settings)
    return RecognitionService(runtime, session, principal.actor).detect(inputs)
