"""The token secret: shared by every process that shares the database."""

from __future__ import annotations

from pathlib import Path

from cryptography.fernet import Fernet

from voxguard.config import DEFAULT_SECRET, Settings
from voxguard.services.runtime import with_signing_secret


def test_in_development_processes_with_the_same_key_sign_alike(tmp_path: Path) -> None:
    key = Fernet.generate_key().decode()
    one = with_signing_secret(Settings(data_dir=tmp_path / "one", encryption_key=key))
    two = with_signing_secret(Settings(data_dir=tmp_path / "two", encryption_key=key))
    assert one.jwt_secret == two.jwt_secret != DEFAULT_SECRET
    assert len(one.jwt_secret) >= 40 and key not in one.jwt_secret
    other = with_signing_secret(
        Settings(data_dir=tmp_path / "one", encryption_key=Fernet.generate_key().decode())
    )
    assert other.jwt_secret != one.jwt_secret


def test_the_generated_development_key_gives_one_secret_per_data_dir(tmp_path: Path) -> None:
    first = with_signing_secret(Settings(data_dir=tmp_path))
    again = with_signing_secret(Settings(data_dir=tmp_path))
    assert first.jwt_secret == again.jwt_secret != DEFAULT_SECRET
    assert (tmp_path / "voxguard.key").is_file()


def test_a_configured_secret_is_used_as_it_is(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, jwt_secret="s" * 48)
    assert with_signing_secret(settings).jwt_secret == "s" * 48
    production = Settings(
        environment="production",
        data_dir=tmp_path,
        jwt_secret="p" * 48,
        encryption_key=Fernet.generate_key().decode(),
    )
    assert with_signing_secret(production).jwt_secret == "p" * 48
