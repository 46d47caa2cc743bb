"""Alerts raised by medium- and high-risk checks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select

from voxguard.store.models import Alert
from voxguard.store.repository import Repository, newest_first


class AlertRepository(Repository[Alert]):
    model = Alert

    def list(
        self,
        *,
        status: str | None = None,
        level: str | None = None,
        speaker_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> Sequence[Alert]:
        stmt = select(Alert)
        if status:
            stmt = stmt.where(Alert.status == status)
        if level:
            stmt = stmt.where(Alert.level == level)
        if speaker_id:
            stmt = stmt.where(Alert.speaker_id == speaker_id)
        stmt = newest_first(stmt, Alert.created_at, since, until, limit, offset)
        return self.session.scalars(stmt).all()
