"""Load shedding: a bounded queue in front of the work requests.

Work requests (``POST /v1/...``: each decodes audio and runs models) take one of
``max_active`` slots; when all are taken, at most ``max_queued`` wait for one, each for at
most ``timeout_s``. A request beyond that is answered at once with 503 and Retry-After, so
an overloaded server keeps serving what it accepted in bounded time instead of letting every
request queue without end. Reads (GET), the token endpoint and the WebSocket pass freely.
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Receive, Scope, Send

from voxguard.api.errors import voxguard_error_response
from voxguard.errors import ServerBusy

_FREE_PATHS = ("/v1/auth/token",)


class LoadShedMiddleware:
    def __init__(self, app: ASGIApp, max_active: int, max_queued: int, timeout_s: float) -> None:
        self.app = app
        self.capacity = max_active + max_queued
        self.timeout_s = timeout_s
        self._slots = asyncio.Semaphore(max_active)
        self._admitted = 0  # running or waiting for a slot

    def _busy(self, why: str) -> ServerBusy:
        return ServerBusy(
            f"VoxGuard is busy ({why}); try again in a few seconds.",
            retry_after_s=max(1.0, self.timeout_s / 2),
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if (
            scope["type"] != "http"
            or scope.get("method") != "POST"
            or not path.startswith("/v1/")
            or path in _FREE_PATHS
        ):
            await self.app(scope, receive, send)
            return
        if self._admitted >= self.capacity:
            await voxguard_error_response(self._busy("the queue is full"))(scope, receive, send)
            return
        self._admitted += 1
        try:
            try:
                await asyncio.wait_for(self._slots.acquire(), timeout=self.timeout_s)
            except TimeoutError:
                busy = self._busy(f"no slot within {self.timeout_s:.0f} s")
                await voxguard_error_response(busy)(scope, receive, send)
                return
            try:
                await self.app(scope, receive, send)
            finally:
                self._slots.release()
        finally:
            self._admitted -= 1
