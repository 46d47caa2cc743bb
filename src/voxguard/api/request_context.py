"""A request id on every request, its response and every log line written while serving it.

The client's ``X-Request-ID`` is kept when it is a plausible id (so a request can be traced
through a proxy or a caller's own logs); anything else is replaced by a new one. The id is
bound to the logging context (structlog contextvars), so every line logged while the request
runs carries it, from the routes, the services, SQLAlchemy or uvicorn itself. Each request
ends with one ``request`` line: method, route, path (never the query string, which may carry
a token), status and duration.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

import structlog
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "X-Request-ID"
# Letters, digits and a few separators, as UUIDs, ULIDs and most tracing ids are; no spaces,
# quotes or control characters that could forge a log line or a header.
_VALID_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")

log = logging.getLogger("voxguard.request")


def current_request_id() -> str | None:
    value = structlog.contextvars.get_contextvars().get("request_id")
    return value if isinstance(value, str) else None


def _incoming_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            text = value.decode("latin-1").strip()
            return text if _VALID_ID.match(text) else None
    return None


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = _incoming_id(scope) or uuid.uuid4().hex
        # Each request runs in its own task, whose context is a copy: binding here never
        # leaks into another request, and the id stays bound for the server's own error line
        # should the request fail past every handler.
        structlog.contextvars.bind_contextvars(request_id=request_id)
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = getattr(scope.get("route"), "path", None)
            # Liveness probes would drown everything else at INFO.
            level = logging.DEBUG if route == "/health" else logging.INFO
            log.log(
                level,
                "request",
                extra={
                    "method": scope.get("method"),
                    "path": scope.get("path"),
                    "route": route,
                    "status": status,
                    "duration_ms": round((time.perf_counter() - start) * 1000, 1),
                },
            )
