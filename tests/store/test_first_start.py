"""Several processes starting at once on one new PostgreSQL database, as API hosts do."""

from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

from tests.databases import database_url
from voxguard.config import Settings
from voxguard.services.auth import bootstrap_admin_key
from voxguard.store.api_keys import ApiKeyRepository
from voxguard.store.crypto import persisted_secret
from voxguard.store.db import unit_of_work
from voxguard.store.setup import open_store

STARTS = 3


def _start(data_dir: Path, url: str, key: str, barrier: Any) -> str | None:
    """One host's start-up, in a process of its own: open the store, make the first key."""
    settings = Settings(data_dir=data_dir, database_url=url, encryption_key=key)
    barrier.wait(60)
    store = open_store(settings)
    try:
        return bootstrap_admin_key(store, settings)
    finally:
        store.close()


def test_hosts_starting_together_migrate_once_and_make_one_admin_key(tmp_path: Path) -> None:
    key = Fernet.generate_key().decode()
    context = multiprocessing.get_context("spawn")
    with database_url("postgresql", tmp_path) as url, context.Manager() as manager:
        barrier = manager.Barrier(STARTS)
        with ProcessPoolExecutor(STARTS, mp_context=context) as pool:
            starts = [
                pool.submit(_start, tmp_path / f"host{i}", url, key, barrier) for i in range(STARTS)
            ]
            created = [start.result(timeout=240) for start in starts]
        assert sum(k is not None for k in created) == 1, created
        settings = Settings(data_dir=tmp_path / "check", database_url=url, encryption_key=key)
        store = open_store(settings)
        try:
            with unit_of_work(store.sessions) as session:
                assert ApiKeyRepository(session).count() == 1
        finally:
            store.close()


def test_processes_creating_a_secret_file_at_once_all_get_the_first_one(tmp_path: Path) -> None:
    path = tmp_path / "data" / "secret"
    barrier = threading.Barrier(8)
    counter = iter(range(8))
    lock = threading.Lock()

    def generate() -> str:
        with lock:
            return f"secret-{next(counter)}"

    def create(_: int) -> str:
        barrier.wait()
        return persisted_secret(path, generate)

    with ThreadPoolExecutor(8) as pool:
        secrets = set(pool.map(create, range(8)))
    assert secrets == {path.read_text().strip()}
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["secret"]  # no temporary file left
