"""``create_app()``: the FastAPI application with its typed shared state."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from voxguard import __version__
from voxguard.api.errors import ERROR_RESPONSES, install_error_handlers
from voxguard.api.limits import BodyLimitMiddleware
from voxguard.api.metrics import Metrics, MetricsMiddleware, time_database
from voxguard.api.request_context import RequestContextMiddleware
from voxguard.api.routes import (
    admin,
    alerts,
    analysis,
    auth,
    datasets,
    jobs,
    models,
    recognition,
    speakers,
    streaming,
    system,
)
from voxguard.api.security import SecurityHeadersMiddleware
from voxguard.api.shedding import LoadShedMiddleware
from voxguard.api.webui import install_web_ui
from voxguard.config import Settings, get_settings
from voxguard.malloc import limit_arenas, trim_periodically
from voxguard.services.auth import bootstrap_admin_key
from voxguard.services.job_queue import JobQueue
from voxguard.services.runtime import Runtime, build_runtime

log = logging.getLogger("voxguard")
RuntimeFactory = Callable[[Settings], Runtime]
# Multipart framing and form fields on top of the files themselves.
_BODY_OVERHEAD = 1024 * 1024


def create_app(
    settings: Settings | None = None, runtime_factory: RuntimeFactory = build_runtime
) -> FastAPI:
    settings = settings or get_settings()
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        limit_arenas()  # before the request threads start
        trimming = trim_periodically(settings.malloc_trim_s)
        runtime = runtime_factory(settings)
        try:
            bootstrap_admin_key(runtime.store, runtime.settings)
            runtime.warm_gallery()  # the persisted 1:N index, loaded before the first request
            # Producer side only: the consumers run beside uvicorn (``voxguard serve``) or
            # elsewhere (``voxguard worker``), never in a request-serving process.
            app.state.jobs = JobQueue(runtime.settings)
        except BaseException:
            runtime.close()
            raise
        app.state.runtime = runtime
        time_database(runtime.store)
        try:
            yield
        finally:
            app.state.jobs.close()
            runtime.close()
            if trimming is not None:
                trimming.set()

    app = FastAPI(
        title="VoxGuard",
        version=__version__,
        description="Speaker verification, identification and synthetic-speech checks.",
        lifespan=lifespan,
        responses=ERROR_RESPONSES,
    )
    app.state.metrics = metrics
    install_error_handlers(app)
    for router in (
        system.router,
        auth.router,
        speakers.router,
        recognition.router,
        analysis.router,
        streaming.router,
        alerts.router,
        datasets.router,
        jobs.router,
        models.router,
        admin.router,
    ):
        app.include_router(router)
    install_web_ui(app)
    max_body = max(
        settings.max_request_mb * 1024 * 1024, settings.max_upload_bytes + _BODY_OVERHEAD
    )
    app.add_middleware(BodyLimitMiddleware, max_bytes=int(max_body))
    app.add_middleware(
        LoadShedMiddleware,
        max_active=settings.max_active_requests,
        max_queued=settings.max_queued_requests,
        timeout_s=settings.queue_timeout_s,
    )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type", "X-Request-ID"],
            expose_headers=["X-Request-ID", "Retry-After"],
        )
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    # Outermost: the 413s and 503s refused above get the headers and the request id too.
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(RequestContextMiddleware)
    return app
