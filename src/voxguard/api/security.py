"""Security headers on every HTTP response: API JSON, errors (4xx, 503, 500), docs, web UI.

A header a response already sets is kept: the web UI sets its own Content-Security-Policy
(``voxguard.api.webui``) and cache policy for its bundle files.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# JSON and files: nothing in them is ever rendered as a page, framed or allowed to load.
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# FastAPI's /docs (Swagger UI) and /redoc pages load their script and styles from the
# jsDelivr CDN and start them with an inline script; Redoc runs a blob: worker and Google
# fonts. Nothing else, and never framed.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "font-src 'self' https://fonts.gstatic.com; img-src 'self' data: https:; "
    "worker-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
_DOCS_PATHS = ("/docs", "/redoc")
# Two years, the preload list's minimum; only ever sent over HTTPS (RFC 6797 section 7.2).
HSTS = "max-age=63072000; includeSubDomains"

STATIC_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def security_headers(scope: Scope) -> dict[str, str]:
    """The headers a response to ``scope`` gets, unless it sets them itself."""
    path: str = scope.get("path", "")
    headers = dict(STATIC_HEADERS)
    headers["Content-Security-Policy"] = DOCS_CSP if path.startswith(_DOCS_PATHS) else API_CSP
    # Answers carry voiceprint decisions, keys and tokens: no cache keeps them, unless the
    # route says otherwise (the web UI's hashed bundle files).
    headers["Cache-Control"] = "no-store"
    if scope.get("scheme") in ("https", "wss"):
        headers["Strict-Transport-Security"] = HSTS
    return headers


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        defaults = security_headers(scope)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in defaults.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
