"""The web UI at ``/``: the built single-page app, served by the API's own process.

Every path that is not an API route gets the app's ``index.html`` (the app routes in the
browser), and files of the bundle are served as they are. API paths keep their JSON 404.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, HTTPException
from fastapi.responses import FileResponse, HTMLResponse, Response

from voxguard.web import static_dir

# Only what the bundle itself needs: no CDN, no inline scripts. Chart.js and wavesurfer set
# inline styles; the microphone capture runs in an AudioWorklet from the bundle's own origin;
# wavesurfer reads the chosen file through a blob: URL.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self' blob:; "
    "worker-src 'self' blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
_SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
_API_PREFIXES = ("v1/", "v1", "health", "metrics", "docs", "redoc", "openapi.json")

NOT_BUILT = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>VoxGuard</title></head><body><main><h1>VoxGuard</h1>
<p>The API is running, but this installation has no web UI bundle. Build it with
<code>make web</code> (needs Node.js 18 or newer), or install a VoxGuard wheel, which ships
it. The API is at <a href="/docs">/docs</a>.</p></main></body></html>"""


def _bundle_file(root: Path, path: str) -> Path | None:
    candidate = (root / path).resolve()
    if path and candidate.is_file() and candidate.is_relative_to(root.resolve()):
        return candidate
    return None


def install_web_ui(app: FastAPI, root: Path | None = None) -> None:
    """Serve the bundle at ``/``; register after every API router (this route catches all)."""
    bundle = root or static_dir()

    @app.get("/{path:path}", include_in_schema=False)
    def web_ui(path: str) -> Response:
        if path.startswith(_API_PREFIXES):
            raise HTTPException(status_code=404, detail=f"No API route at /{path}.")
        found = _bundle_file(bundle, path)
        if found is not None:
            # Vite names assets by content hash: they never change under the same name.
            cache = (
                "public, max-age=31536000, immutable" if path.startswith("assets/") else "no-cache"
            )
            return FileResponse(found, headers={**_SECURITY_HEADERS, "Cache-Control": cache})
        index = bundle / "index.html"
        if not index.is_file():
            return HTMLResponse(NOT_BUILT, status_code=503, headers=_SECURITY_HEADERS)
        return FileResponse(index, headers={**_SECURITY_HEADERS, "Cache-Control": "no-cache"})
