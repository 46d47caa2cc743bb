"""Append-only audit log of every change."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from voxguard.store.models import AuditEntry


class AuditRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def record(
        self, actor: str, action: str, entity: str, entity_id: str | None, **detail: Any
    ) -> None:
        self.session.add(
            AuditEntry(
                actor=actor, action=action, entity=entity, entity_id=entity_id, detail=detail
            )
        )
        self.session.flush()

    def list(self, entity_id: str | None = None, limit: int = 100) -> Sequence[AuditEntry]:
        stmt = select(AuditEntry)
        if entity_id:
            stmt = stmt.where(AuditEntry.entity_id == entity_id)
        return self.session.scalars(stmt.order_by(AuditEntry.id.desc()).limit(limit)).all()
