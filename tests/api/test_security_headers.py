"""Security headers and the request id on every kind of response: JSON, errors (401, 404,
413, 422, 503 from the health check and from load shedding, 500), docs and the web UI."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.routing import APIRoute

from tests.api.conftest import Api, make_settings, open_api
from tests.databases import database_url
from voxguard.api import routes
from voxguard.api.security import API_CSP, DOCS_CSP, HSTS
from voxguard.api.webui import CONTENT_SECURITY_POLICY as WEB_UI_CSP

ALWAYS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    """One work request at a time and no queue, so a second one is shed with 503; a request
    body limit of 4 MB; and a route that fails past every handler."""
    with database_url("sqlite", tmp_path) as url:
        settings = make_settings(tmp_path, url, max_active_requests=1, max_queued_requests=0)
        for api in open_api(settings):

            def boom() -> None:
                raise RuntimeError("boom vg_secretkeyinthemessage")

            # Ahead of the web UI's catch-all route.
            api.client.app.router.routes.insert(0, APIRoute("/v1/boom", boom))  # type: ignore[attr-defined]
            yield api


def assert_hardened(response: httpx.Response, csp: str = API_CSP) -> None:
    for name, value in ALWAYS.items():
        assert response.headers.get(name) == value, (response.url, name)
    assert response.headers["content-security-policy"] == csp
    assert "strict-transport-security" not in response.headers  # plain HTTP
    assert response.headers["x-request-id"]


def test_json_answers_and_client_errors(api: Api) -> None:
    c, admin = api.client, api.headers()
    ok = c.get("/v1/info", headers=admin)
    assert ok.status_code == 200
    assert_hardened(ok)
    assert ok.headers["cache-control"] == "no-store"  # authenticated JSON is never cached
    cases = [
        (c.get("/health"), 200),
        (c.get("/openapi.json"), 200),
        (c.get("/metrics", headers=admin), 200),
        (c.get("/v1/info"), 401),
        (c.get("/v1/speakers/nobody", headers=admin), 404),
        (c.get("/v1/nothing-here", headers=admin), 404),
        (c.post("/v1/check", headers=admin), 422),
        (c.post("/v1/check", headers=admin, content=b"x" * (5 * 1024 * 1024)), 413),
    ]
    for response, status in cases:
        assert response.status_code == status, response.url
        assert_hardened(response)
        assert response.headers["cache-control"] == "no-store"


def test_docs_get_a_policy_that_lets_them_load(api: Api) -> None:
    for path in ("/docs", "/redoc"):
        response = api.client.get(path)
        assert response.status_code == 200
        assert_hardened(response, DOCS_CSP)


def test_the_web_ui_keeps_its_own_policy(api: Api) -> None:
    response = api.client.get("/speakers")
    assert response.status_code in (200, 503)  # 503: no bundle built in this checkout
    assert_hardened(response, WEB_UI_CSP)


def test_503s_and_500s(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(routes.system, "is_reachable", lambda _engine: False)
    degraded = api.client.get("/health")
    assert degraded.status_code == 503
    assert_hardened(degraded)

    app, headers = api.client.app, api.headers()

    async def slow_body() -> AsyncIterator[bytes]:
        yield b"--b\r\n"
        await asyncio.sleep(0.5)
        yield b"--b--\r\n"

    async def scenario() -> tuple[httpx.Response, httpx.Response]:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            form = {**headers, "content-type": "multipart/form-data; boundary=b"}
            # The one work slot is held while this body trickles in: the next one is shed.
            holding = asyncio.create_task(c.post("/v1/check", content=slow_body(), headers=form))
            await asyncio.sleep(0.2)
            shed = await c.post("/v1/check", headers=headers)
            await holding
            failed = await c.get("/v1/boom", headers={"X-Request-ID": "trace-500"})
            return shed, failed

    assert api.client.portal is not None
    shed, failed = api.client.portal.call(scenario)
    assert shed.status_code == 503 and shed.json()["code"] == "server_busy"
    assert "retry-after" in shed.headers
    assert_hardened(shed)
    assert failed.status_code == 500 and failed.json()["code"] == "internal_error"
    assert_hardened(failed)
    assert failed.headers["x-request-id"] == "trace-500"
    assert failed.json()["detail"]["request_id"] == "trace-500"


def test_https_gets_hsts(api: Api) -> None:
    response = api.client.get("https://testserver/health")
    assert response.headers["strict-transport-security"] == HSTS
