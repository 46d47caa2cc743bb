"""Rate limits through the API when they live in Redis, and when that Redis is down."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.api.conftest import make_settings, open_api
from tests.databases import database_url, redis_url, unique_prefix


def test_limits_are_kept_in_the_configured_redis(tmp_path: Path) -> None:
    url = redis_url()
    with database_url("sqlite", tmp_path) as db:
        settings = make_settings(
            tmp_path,
            db,
            redis_url=url,
            queue_name=unique_prefix(),
            rate_limit_per_minute=1,
            rate_limit_burst=2,
        )
        for api in open_api(settings):
            codes = [
                api.client.get("/v1/info", headers=api.headers("reader")).status_code
                for _ in range(3)
            ]
            assert codes == [200, 200, 429]
            limited = api.client.get("/v1/info", headers=api.headers("reader"))
            assert limited.json()["code"] == "rate_limited"
            assert int(limited.headers["Retry-After"]) >= 1


def test_a_down_redis_never_fails_a_request(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with database_url("sqlite", tmp_path) as db:
        settings = make_settings(
            tmp_path,
            db,
            redis_url="redis://127.0.0.1:1/0",
            rate_limit_per_minute=1,
            rate_limit_burst=2,
        )
        with caplog.at_level(logging.WARNING, logger="voxguard.services.ratelimit"):
            for api in open_api(settings):
                codes = [
                    api.client.get("/v1/info", headers=api.headers("reader")).status_code
                    for _ in range(3)
                ]
                # Limited by this process's own bucket meanwhile: no 500, still a 429.
                assert codes == [200, 200, 429]
    assert any("unreachable" in r.getMessage() for r in caplog.records)
