"""Liveness, service facts and Prometheus metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from voxguard import __version__
from voxguard.api.deps import MetricsDep, ReaderDep, RuntimeDep
from voxguard.errors import ACCEPTED_FORMATS
from voxguard.services.runtime import Runtime
from voxguard.store.db import is_reachable

router = APIRouter(tags=["system"])


def _models(runtime: Runtime) -> dict[str, dict[str, Any]]:
    def state(loaded: Any) -> dict[str, Any]:
        if loaded.available:
            return {"status": "loaded", "version": loaded.engine.model_version}
        return {"status": "unavailable", "reason": loaded.reason}

    return {
        "vad": {"status": "loaded", "version": "silero-vad"},
        "speaker": state(runtime.speaker),
        "spoof": state(runtime.spoof),
    }


@router.get("/health")
def health(runtime: RuntimeDep) -> JSONResponse:
    """No credentials needed. 503 when the database cannot be reached."""
    database = is_reachable(runtime.store.engine)
    body = {
        "status": "ok" if database else "degraded",
        "version": __version__,
        "database": "reachable" if database else "unreachable",
        "models": _models(runtime),
    }
    return JSONResponse(body, status_code=200 if database else 503)


@router.get("/v1/info")
def info(runtime: RuntimeDep, principal: ReaderDep) -> dict[str, Any]:
    s, policy = runtime.settings, runtime.policy
    return {
        "version": __version__,
        "models": _models(runtime),
        "database": runtime.store.engine.dialect.name,
        "thresholds": {
            "target_far": s.target_far,
            "spoof_threshold": policy.spoof_threshold,
            # each calibration block's own (a phone line, an empty top band, the rest)
            "spoof_threshold_by_channel": _channel_thresholds(runtime),
            # the spoof model's classical-TTS head (VOXGUARD_SPOOF_CLASSICAL_HEAD; off by
            # default: it flags most electrolaryngeal speech)
            "spoof_classical_tts_head": s.spoof_classical_head,
            "risk_bands": {"MEDIUM": policy.medium, "HIGH": policy.high},
            "risk_weights": {
                "voice": policy.weight_voice,
                "behavior": policy.weight_behavior,
                "spoof": policy.weight_spoof,
                "quality": policy.weight_quality,
            },
            "poor_quality_below": policy.poor_quality_below,
            "behavior_mismatch_below": policy.behavior_mismatch_below,
            "impersonation_near_match": policy.near_match,
        },
        "accepted_formats": list(ACCEPTED_FORMATS),
        "limits": {
            "max_upload_mb": s.max_upload_mb,
            "max_duration_s": s.max_duration_s,
            "min_speech_s": s.min_speech_s,
            "max_request_mb": s.max_request_mb,
            "max_batch_files": s.max_batch_files,
            "max_enroll_files": s.max_enroll_files,
            "max_dataset_files": s.max_dataset_files,
            "max_dataset_mb": s.max_dataset_mb,
            "max_job_files": s.max_job_files,
            "dataset_retention_days": s.dataset_retention_days,
            "job_retention_days": s.job_retention_days,
            "model_retention_days": s.model_retention_days,
            "rate_limit_per_minute": s.rate_limit_per_minute,
            "identify_top_k": s.identify_top_k,
        },
        "role": str(principal.role),
        "spoof_operating_points": _operating_points(runtime),
    }


def _channel_thresholds(runtime: Runtime) -> dict[str, float]:
    """The detector's verdict threshold per calibration block (empty without a detector)."""
    engine = runtime.spoof.engine if runtime.spoof.available else None
    thresholds: dict[str, float] = getattr(engine, "channel_thresholds", {})
    return thresholds


def _operating_points(runtime: Runtime) -> dict[str, Any] | None:
    """The bundled detector's measured error rates per threshold, for the DET view (a test
    double or a missing detector has none)."""
    engine = runtime.spoof.engine if runtime.spoof.available else None
    points: dict[str, Any] | None = getattr(engine, "operating_points", None)
    return points


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(metrics: MetricsDep, principal: ReaderDep) -> Response:
    """Prometheus text format: requests and latency per route, time per pipeline stage."""
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
