"""Test databases: a SQLite file per test, or a PostgreSQL database created and dropped."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

PG_ADMIN_URL = os.environ.get("VOXGUARD_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
BACKENDS = ["sqlite", "postgresql"]


@contextmanager
def database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    import psycopg

    try:
        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc}")
    name = f"voxguard_test_{uuid.uuid4().hex[:12]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            base = PG_ADMIN_URL.rsplit("/", 1)[0]
            yield f"{base.replace('postgresql://', 'postgresql+psycopg://')}/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


REDIS_URL = os.environ.get("VOXGUARD_TEST_REDIS", "redis://127.0.0.1:6379/0")


def redis_url() -> str:
    """The test Redis (VOXGUARD_TEST_REDIS), or skip saying where it was looked for. Tests
    share it: each keeps its keys apart under a prefix of its own (``unique_prefix``)."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis not reachable at {REDIS_URL} (set VOXGUARD_TEST_REDIS): {exc}")
    return REDIS_URL


def unique_prefix() -> str:
    return f"voxguard_test_{uuid.uuid4().hex[:12]}"
