"""Schemathesis over the OpenAPI schema: every operation, with generated valid and invalid
input, as an admin, never answers 5xx and always answers as its schema says.

A bounded budget (a few examples per operation, derandomized so every run is the same) keeps
it within ``make test``. It runs on PostgreSQL, whose driver refuses what SQLite lets
through (NUL characters, out-of-range integers), falling back to SQLite without one. The
live-call WebSocket is not in the OpenAPI schema (HTTP only) and is covered by its own tests.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from tests.api.conftest import make_settings
from tests.databases import PG_ADMIN_URL, database_url
from tests.doubles import FixedSpoofDetector, SpectralTestEngine
from voxguard.api.app import create_app
from voxguard.config import Settings
from voxguard.services.auth import AuthService
from voxguard.services.engines import Loaded, SpoofAdapter
from voxguard.services.runtime import Runtime, build_runtime
from voxguard.services.schemas import Role
from voxguard.store.db import unit_of_work
from voxguard.store.setup import open_store

MAX_EXAMPLES = 6
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


def _backend() -> str:
    try:
        psycopg.connect(PG_ADMIN_URL, connect_timeout=3).close()
    except psycopg.OperationalError:
        return "sqlite"
    return "postgresql"


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FastAPI, str]]:
    """The app under test (Schemathesis runs its lifespan on the first call) and an admin
    key, made in its database beforehand."""
    tmp: Path = tmp_path_factory.mktemp("fuzz")

    def factory(s: Settings) -> Runtime:
        spoof = Loaded(SpoofAdapter(FixedSpoofDetector(0.2)))
        return build_runtime(s, speaker=Loaded(SpectralTestEngine()), spoof=spoof)

    with database_url(_backend(), tmp) as url:
        settings = make_settings(tmp, url, rate_limit_per_minute=100_000)
        store = open_store(settings)
        with unit_of_work(store.sessions) as session:
            key = AuthService(session, settings).create_key("fuzz", Role.ADMIN).key
        store.close()
        try:
            yield create_app(settings, factory), key
        finally:
            shutdown_lifespans()


# The schema of an app that is never started: collecting the tests touches no database.
schema = schemathesis.openapi.from_dict(
    create_app(Settings(data_dir=Path(tempfile.gettempdir()) / "voxguard-schema")).openapi()
)


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_server_errors_and_answers_match_the_schema(
    case: schemathesis.Case, target: tuple[FastAPI, str]
) -> None:
    app, key = target
    case.call_and_validate(app=app, headers={"Authorization": f"Bearer {key}"}, checks=CHECKS)
