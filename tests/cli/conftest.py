from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from tests.doubles import SpectralTestEngine
from voxguard.config import Settings, get_settings
from voxguard.services import runtime as runtime_module
from voxguard.services.engines import Loaded


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh data dir for the CLI, with the test engine standing in for the speaker model."""
    monkeypatch.setenv("VOXGUARD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VOXGUARD_ENCRYPTION_KEY", Fernet.generate_key().decode())
    monkeypatch.delenv("VOXGUARD_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    real = runtime_module.build_runtime

    def with_test_engine(
        settings: Settings, speaker: Loaded | None = None, spoof: Loaded | None = None
    ):  # type: ignore[no-untyped-def]
        return real(settings, speaker=Loaded(SpectralTestEngine()), spoof=Loaded(None, "not built"))

    monkeypatch.setattr("voxguard.cli.local.build_runtime", with_test_engine)
    yield tmp_path
    get_settings.cache_clear()


@pytest.fixture
def cli_real_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh data dir for the CLI with the bundled models (for what the test double cannot
    do: diarization embeds windows with the real encoder)."""
    monkeypatch.setenv("VOXGUARD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VOXGUARD_ENCRYPTION_KEY", Fernet.generate_key().decode())
    monkeypatch.delenv("VOXGUARD_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()
