"""Reading the audit log (writes happen inside each service's own changes)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from voxguard.services.schemas import AuditOut
from voxguard.store.audit import AuditRepository


def list_audit(session: Session, entity_id: str | None = None, limit: int = 100) -> list[AuditOut]:
    return [AuditOut.model_validate(r) for r in AuditRepository(session).list(entity_id, limit)]
