"""Check events: one row per verify / identify / check / detect call."""

from __future__ import annotations

from collections.abc import Sequence

from voxguard.store.filters import EventFilter
from voxguard.store.models import CheckEvent
from voxguard.store.repository import Repository, filtered


class EventRepository(Repository[CheckEvent]):
    model = CheckEvent

    def list(self, spec: EventFilter) -> Sequence[CheckEvent]:
        stmt = filtered(CheckEvent, CheckEvent.created_at, spec, "operation", "speaker_id")
        return self.session.scalars(stmt).all()
