"""What every repository shares: a session, add and get by primary key, paging by time."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute, Session

from voxguard.store.models import Base

M = TypeVar("M", bound=Base)


class Repository(Generic[M]):
    model: ClassVar[type[Any]]

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, row: M) -> M:
        self.session.add(row)
        self.session.flush()
        return row

    def get(self, row_id: str) -> M | None:
        row: M | None = self.session.get(self.model, row_id)
        return row


def newest_first(
    stmt: Select[M],
    column: InstrumentedAttribute[datetime],
    since: datetime | None,
    until: datetime | None,
    limit: int,
    offset: int,
) -> Select[M]:
    """Restrict ``stmt`` to [since, until) on ``column`` and page it newest first."""
    if since:
        stmt = stmt.where(column >= since)
    if until:
        stmt = stmt.where(column < until)
    return stmt.order_by(column.desc()).offset(offset).limit(limit)
