"""Alerts raised by medium- and high-risk checks."""

from __future__ import annotations

from collections.abc import Sequence

from voxguard.store.filters import AlertFilter
from voxguard.store.models import Alert
from voxguard.store.repository import Repository, filtered


class AlertRepository(Repository[Alert]):
    model = Alert

    def list(self, spec: AlertFilter) -> Sequence[Alert]:
        stmt = filtered(Alert, Alert.created_at, spec, "status", "level", "speaker_id")
        return self.session.scalars(stmt).all()
