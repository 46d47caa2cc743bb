"""Database engine, migrations on start-up, and the one place a unit of work commits."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from voxguard.config import Settings
from voxguard.errors import ConfigurationError, Conflict, InvalidInput

SessionFactory = sessionmaker[Session]
# pg_advisory_lock key of first_start_lock: any fixed 64-bit number no other tool uses.
_FIRST_START_LOCK = 0x766F78_6775617264


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def engine_for(settings: Settings) -> Engine:
    url = settings.resolved_database_url
    if url.startswith("sqlite") and settings.database_url is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    return make_engine(url)


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (creates every table on an empty database)."""
    config = Config()
    config.set_main_option(
        "script_location", str(resources.files("voxguard.store").joinpath("migrations"))
    )
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except Exception as exc:  # any driver error: name the database, not the stack
        raise ConfigurationError(
            f"Could not migrate the database at {engine.url.render_as_string()}: {exc}"
        ) from exc


@contextmanager
def first_start_lock(engine: Engine) -> Iterator[None]:
    """Processes starting at once on one PostgreSQL database (several API hosts) take turns
    through the block: migrating, writing the key check, creating the first admin key. Only
    one of them does each; the others find it done. (A SQLite file is one host's: no lock.)"""
    if engine.dialect.name != "postgresql":
        yield
        return
    try:
        connection = engine.connect()
    except Exception as exc:  # any driver error: name the database, not the stack
        raise ConfigurationError(
            f"Could not connect to the database at {engine.url.render_as_string()}: {exc}"
        ) from exc
    with connection:
        connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": _FIRST_START_LOCK})
        connection.commit()
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": _FIRST_START_LOCK})
            connection.commit()


def is_reachable(engine: Engine) -> bool:
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True
    except Exception:
        return False


def session_factory(engine: Engine) -> SessionFactory:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def unit_of_work(factory: SessionFactory) -> Iterator[Session]:
    """Commit when the block succeeds, roll back on any error. Every write goes through here."""
    session = factory()
    try:
        yield session
        session.commit()
    except IntegrityError as exc:
        # Two writers raced for the same unique value (e.g. an external id).
        session.rollback()
        raise Conflict("The change conflicts with data stored meanwhile; retry.") from exc
    except DataError as exc:
        # A value the database cannot hold: a NUL character (PostgreSQL), a number past its
        # integer range. Input checks catch what they know of; this is the net under them.
        session.rollback()
        reason = str(exc.orig).splitlines()[0] if exc.orig else type(exc).__name__
        raise InvalidInput(
            f"A value in the request cannot be stored or searched for: {reason}.",
            reason=reason,
        ) from exc
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
