"""Open the store: connect, migrate to the newest schema, check the encryption key."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from voxguard.config import Settings
from voxguard.store.crypto import VoiceprintCipher, resolve_key
from voxguard.store.db import (
    SessionFactory,
    engine_for,
    first_start_lock,
    migrate,
    session_factory,
    unit_of_work,
)
from voxguard.store.meta import KEY_CHECK, MetaRepository


@dataclass
class Store:
    engine: Engine
    sessions: SessionFactory
    cipher: VoiceprintCipher

    def close(self) -> None:
        self.engine.dispose()


def open_store(settings: Settings) -> Store:
    engine = engine_for(settings)
    try:
        cipher = VoiceprintCipher(resolve_key(settings))
        sessions = session_factory(engine)
        with first_start_lock(engine):
            migrate(engine)
            with unit_of_work(sessions) as session:
                meta = MetaRepository(session)
                stored = meta.get(KEY_CHECK)
                if stored is None:
                    meta.set(KEY_CHECK, cipher.check_value())
                else:
                    cipher.verify_check_value(stored)
    except BaseException:
        engine.dispose()
        raise
    return Store(engine=engine, sessions=sessions, cipher=cipher)
