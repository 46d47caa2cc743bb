from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient

from tests.databases import BACKENDS, database_url
from tests.doubles import SpectralTestEngine
from voxguard.api.app import create_app
from voxguard.config import Settings
from voxguard.services.auth import AuthService
from voxguard.services.engines import Loaded
from voxguard.services.runtime import Runtime, build_runtime
from voxguard.services.schemas import Role
from voxguard.store.db import unit_of_work


@dataclass
class Api:
    client: TestClient
    runtime: Runtime
    keys: dict[str, str]

    def headers(self, role: str = "admin") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}

    def finished_job(self, job_id: str, timeout_s: float = 120) -> dict[str, Any]:
        """Poll ``GET /v1/jobs/{id}`` (as a reader) until the job has finished."""
        deadline = time.monotonic() + timeout_s
        while True:
            body: dict[str, Any] = self.client.get(
                f"/v1/jobs/{job_id}", headers=self.headers("reader")
            ).json()
            if body["status"] in ("succeeded", "failed", "cancelled"):
                return body
            assert time.monotonic() < deadline, body
            time.sleep(0.1)


def make_settings(tmp_path: Path, url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": tmp_path / "data",
        "database_url": url,
        "encryption_key": Fernet.generate_key().decode(),
        "jwt_secret": "test-secret-" + "x" * 32,
        "max_upload_mb": 1.0,
        "max_request_mb": 4.0,
        "max_batch_files": 3,
        "max_enroll_files": 3,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def open_api(
    settings: Settings,
    with_engine: bool = True,
    spoof: Loaded | None = None,
    speaker: Loaded | None = None,
) -> Iterator[Api]:
    """``speaker``: the engine to serve (default: the spectral test double)."""
    keys: dict[str, str] = {}
    holder: list[Runtime] = []

    def factory(s: Settings) -> Runtime:
        double = Loaded(SpectralTestEngine()) if with_engine else Loaded(None, "not in test")
        speaker_engine = speaker or double
        spoof_model = spoof or Loaded(None, "spoof model not built")
        runtime = build_runtime(s, speaker=speaker_engine, spoof=spoof_model)
        with unit_of_work(runtime.store.sessions) as session:
            for role in Role:
                keys[str(role)] = AuthService(session, s).create_key(str(role), role).key
        holder.append(runtime)
        return runtime

    with TestClient(create_app(settings, factory)) as client:
        yield Api(client, holder[0], keys)


@pytest.fixture(params=BACKENDS)
def api(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Api]:
    with database_url(request.param, tmp_path) as url:
        yield from open_api(make_settings(tmp_path, url))


@pytest.fixture
def sqlite_api(tmp_path: Path) -> Iterator[Api]:
    with database_url("sqlite", tmp_path) as url:
        yield from open_api(make_settings(tmp_path, url))
