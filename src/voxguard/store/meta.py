"""Facts about the store itself."""

from __future__ import annotations

from sqlalchemy.orm import Session

from voxguard.store.models import Meta

KEY_CHECK = "encryption_key_check"


class MetaRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, key: str) -> str | None:
        row = self.session.get(Meta, key)
        return row.value if row else None

    def set(self, key: str, value: str) -> None:
        row = self.session.get(Meta, key)
        if row is None:
            self.session.add(Meta(key=key, value=value))
        else:
            row.value = value
        self.session.flush()
