from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from tests.databases import BACKENDS, database_url
from voxguard.config import Settings
from voxguard.store.setup import Store, open_store


@pytest.fixture(params=BACKENDS)
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    with database_url(request.param, tmp_path) as url:
        yield Settings(
            data_dir=tmp_path / "data", database_url=url, encryption_key=Fernet.generate_key()
        )


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    opened = open_store(settings)
    yield opened
    opened.close()
