"""Prometheus metrics, one registry per app (so test apps never collide).

Per endpoint: requests by status and their latency. Per pipeline stage: the seconds each
request spent decoding, in VAD, embedding, searching the gallery, in the spoof detector, the
behavior profile, the risk rules and the database, reported by the services through the
stage hook (``voxguard.services.stages``) while this middleware listens.
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from sqlalchemy import event
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from voxguard.services import stages
from voxguard.store.setup import Store

# A client picks the method: any other would be a new time series each (unbounded memory).
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Stages take from a fraction of a millisecond (risk) to seconds (diarizing a long call).
_STAGE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self.requests = Counter(
            "voxguard_http_requests",
            "HTTP requests by route and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "voxguard_http_request_seconds",
            "HTTP request latency by route.",
            ["route"],
            registry=self.registry,
        )
        self.stages = Histogram(
            "voxguard_stage_seconds",
            "Seconds a request spent in each pipeline stage (decode, vad, embed, search, "
            "spoof, behavior, risk, diarize, database), by route.",
            ["stage", "route"],
            buckets=_STAGE_BUCKETS,
            registry=self.registry,
        )
        self.checks = Counter(
            "voxguard_checks",
            "Checks by verdict and risk level.",
            ["verdict", "level"],
            registry=self.registry,
        )


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500
        spent: dict[str, float] = {}

        def observe(stage: str, seconds: float) -> None:
            spent[stage] = spent.get(stage, 0.0) + seconds

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            with stages.observing(observe):
                await self.app(scope, receive, send_status)
        finally:
            route = scope.get("route")
            name = getattr(route, "path", "unmatched")
            method = scope["method"] if scope["method"] in _METHODS else "OTHER"
            self.metrics.requests.labels(method, name, str(status)).inc()
            self.metrics.latency.labels(name).observe(time.perf_counter() - start)
            for stage, seconds in spent.items():
                self.metrics.stages.labels(stage, name).observe(seconds)


# When the unit of work's commit began (its flush statements are counted with the commit).
_commit_started: ContextVar[float | None] = ContextVar("voxguard_commit_started", default=None)
_QUERY_STARTED = "voxguard_query_started"


def time_database(store: Store) -> None:
    """Report the store's statements and commits as the ``database`` stage.

    Driver events, so that the repositories stay free of timing code; with no request
    listening (CLI, job workers) each event is a context-variable lookup.
    """

    def before_query(conn: Any, *_args: Any) -> None:
        conn.info[_QUERY_STARTED] = time.perf_counter()

    def after_query(conn: Any, *_args: Any) -> None:
        started = conn.info.pop(_QUERY_STARTED, None)
        if started is not None and _commit_started.get() is None:
            stages.record("database", time.perf_counter() - started)

    def before_commit(_session: Any) -> None:
        _commit_started.set(time.perf_counter())

    def after_commit(_session: Any) -> None:
        started = _commit_started.get()
        _commit_started.set(None)
        if started is not None:
            stages.record("database", time.perf_counter() - started)

    def after_rollback(_session: Any, *_args: Any) -> None:
        _commit_started.set(None)

    event.listen(store.engine, "before_cursor_execute", before_query)
    event.listen(store.engine, "after_cursor_execute", after_query)
    event.listen(store.sessions, "before_commit", before_commit)
    event.listen(store.sessions, "after_commit", after_commit)
    event.listen(store.sessions, "after_soft_rollback", after_rollback)
