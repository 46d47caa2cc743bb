"""What every repository shares: a session, add and get by primary key, paging by time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, event, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from voxguard.store.filters import TimeWindow
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

    def after_commit(self, action: Callable[[], Any]) -> None:
        """Run ``action`` once this unit of work has committed (never if it rolls back):
        files go only once no committed row refers to them."""
        event.listen(self.session, "after_commit", lambda _session: action(), once=True)


def conditions(
    model: type[M], column: InstrumentedAttribute[datetime], spec: TimeWindow, *equal: str
) -> list[ColumnElement[bool]]:
    """WHERE clauses: ``equal`` fields of ``model`` match ``spec``, ``column`` in its window."""
    where: list[ColumnElement[bool]] = []
    for name in equal:
        value = getattr(spec, name)
        if value is not None:
            where.append(getattr(model, name) == value)
    since = spec.start()
    if since:
        where.append(column >= since)
    if spec.until:
        where.append(column < spec.until)
    return where


def filtered(
    model: type[M], column: InstrumentedAttribute[datetime], spec: TimeWindow, *equal: str
) -> Select[M]:
    """Rows of ``model`` whose ``equal`` fields match ``spec``, in its window, newest first."""
    stmt = select(model).where(*conditions(model, column, spec, *equal))
    return stmt.order_by(column.desc()).offset(spec.offset).limit(spec.limit)
