"""Request body limit enforced while the body streams in, before anything is parsed."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from voxguard.api.errors import voxguard_error_response
from voxguard.errors import RequestTooLarge


class BodyLimitMiddleware:
    """Refuse with 413 as soon as a body is known to exceed ``max_bytes``.

    A declared Content-Length over the limit is refused before reading; a chunked body is
    counted as it arrives, the app stops receiving at the limit, and its (parse-error)
    response is replaced by the 413.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        error = RequestTooLarge(
            f"The request body is over the {self.max_bytes / 1e6:.1f} MB limit.",
            max_bytes=self.max_bytes,
        )
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await voxguard_error_response(error)(scope, receive, send)
            return
        received = 0
        exceeded = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    exceeded = True
                    raise error
            return message

        async def guarded_send(message: Message) -> None:
            if not exceeded:
                await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except RequestTooLarge:
            exceeded = True
        if exceeded:
            await voxguard_error_response(error)(scope, receive, send)
