"""Check events: one row per verify / identify / check / detect call."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select

from voxguard.store.models import CheckEvent
from voxguard.store.repository import Repository, newest_first


class EventRepository(Repository[CheckEvent]):
    model = CheckEvent

    def list(
        self,
        *,
        operation: str | None = None,
        speaker_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> Sequence[CheckEvent]:
        stmt = select(CheckEvent)
        if operation:
            stmt = stmt.where(CheckEvent.operation == operation)
        if speaker_id:
            stmt = stmt.where(CheckEvent.speaker_id == speaker_id)
        stmt = newest_first(stmt, CheckEvent.created_at, since, until, limit, offset)
        return self.session.scalars(stmt).all()
