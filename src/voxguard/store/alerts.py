"""Alerts raised by medium- and high-risk checks."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select

from voxguard.store.filters import AlertFilter
from voxguard.store.models import Alert
from voxguard.store.repository import Repository, conditions, filtered

_ALERT_FILTERS = ("status", "level", "speaker_id")


class AlertRepository(Repository[Alert]):
    model = Alert

    def list(self, spec: AlertFilter) -> Sequence[Alert]:
        stmt = filtered(Alert, Alert.created_at, spec, *_ALERT_FILTERS)
        return self.session.scalars(stmt).all()

    def counts(self, spec: AlertFilter) -> Sequence[tuple[str, str, int]]:
        """(status, level, number of alerts) for every pair present among the alerts that
        match ``spec`` (its paging ignored)."""
        stmt = (
            select(Alert.status, Alert.level, func.count())
            .where(*conditions(Alert, Alert.created_at, spec, *_ALERT_FILTERS))
            .group_by(Alert.status, Alert.level)
        )
        return [(status, level, int(n)) for status, level, n in self.session.execute(stmt)]
