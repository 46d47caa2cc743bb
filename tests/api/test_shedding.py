"""Load shedding: a bounded queue in front of the work requests."""

from __future__ import annotations

import asyncio

import httpx
from fastapi import FastAPI

from voxguard.api.errors import install_error_handlers
from voxguard.api.shedding import LoadShedMiddleware


def _app(max_active: int, max_queued: int, timeout_s: float) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/v1/work")
    async def work() -> dict[str, str]:
        await asyncio.sleep(0.3)
        return {"done": "yes"}

    @app.get("/v1/read")
    async def read() -> dict[str, str]:
        return {"read": "yes"}

    app.add_middleware(
        LoadShedMiddleware, max_active=max_active, max_queued=max_queued, timeout_s=timeout_s
    )
    return app


async def _burst(app: FastAPI, count: int) -> list[httpx.Response]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return list(await asyncio.gather(*(client.post("/v1/work") for _ in range(count))))


def test_over_the_queue_is_refused_at_once_with_retry_after() -> None:
    responses = asyncio.run(_burst(_app(max_active=1, max_queued=1, timeout_s=5.0), 5))
    codes = sorted(r.status_code for r in responses)
    assert codes == [200, 200, 503, 503, 503]
    busy = next(r for r in responses if r.status_code == 503)
    assert busy.json()["code"] == "server_busy" and "busy" in busy.json()["error"]
    assert int(busy.headers["retry-after"]) >= 1


def test_a_wait_longer_than_the_timeout_is_refused() -> None:
    responses = asyncio.run(_burst(_app(max_active=1, max_queued=5, timeout_s=0.1), 3))
    assert sorted(r.status_code for r in responses) == [200, 503, 503]


def test_reads_are_never_queued() -> None:
    async def scenario() -> tuple[list[httpx.Response], httpx.Response]:
        app = _app(max_active=1, max_queued=0, timeout_s=5.0)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            slow = asyncio.gather(client.post("/v1/work"), client.post("/v1/work"))
            await asyncio.sleep(0.05)
            read = await client.get("/v1/read")
            return list(await slow), read

    posts, read = asyncio.run(scenario())
    assert read.status_code == 200
    assert sorted(r.status_code for r in posts) == [200, 503]
