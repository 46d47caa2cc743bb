"""What the local commands share: settings, the store or the full runtime, and file input."""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pydantic import ValidationError
from rich.console import Console
from sqlalchemy.orm import Session

from voxguard.config import Settings, get_settings
from voxguard.errors import AudioDecodeError, AudioTooLarge, ConfigurationError
from voxguard.services.audio_input import AudioInput
from voxguard.services.runtime import Runtime, build_runtime
from voxguard.store.db import unit_of_work
from voxguard.store.setup import open_store

console = Console()


def settings() -> Settings:
    """The settings, with an invalid environment reported as a configuration error."""
    try:
        return get_settings()
    except ValidationError as exc:
        problems = "; ".join(
            (f"VOXGUARD_{str(e['loc'][0]).upper()}: " if e["loc"] else "")
            + str(e["msg"]).removeprefix("Value error, ")
            for e in exc.errors()
        )
        raise ConfigurationError(f"Invalid VOXGUARD_* settings: {problems}") from None


def actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no user name in some containers
        return "cli"


@contextmanager
def local_runtime() -> Iterator[Runtime]:
    """The full runtime, models loaded once for the whole command."""
    runtime = build_runtime(settings())
    try:
        yield runtime
    finally:
        runtime.close()


@contextmanager
def runtime_session() -> Iterator[tuple[Runtime, Session]]:
    """The full runtime and one unit of work."""
    with local_runtime() as runtime, unit_of_work(runtime.store.sessions) as session:
        yield runtime, session


@contextmanager
def store_session() -> Iterator[tuple[Settings, Session]]:
    """Only the store (no models): for listing and managing records."""
    current = settings()
    store = open_store(current)
    try:
        with unit_of_work(store.sessions) as session:
            yield current, session
    finally:
        store.close()


def read_input(path: Path, settings: Settings) -> AudioInput:
    if not path.is_file():
        raise AudioDecodeError(f"Audio file not found: {path}", path=str(path))
    size = path.stat().st_size
    if size > settings.max_upload_bytes:
        raise AudioTooLarge(
            f"{path.name}: {size / 1e6:.1f} MB is over the {settings.max_upload_mb} MB limit.",
            max_bytes=settings.max_upload_bytes,
        )
    return AudioInput(filename=path.name, data=path.read_bytes())
