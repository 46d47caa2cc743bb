"""Alert triage and the event log."""

from __future__ import annotations

from sqlalchemy.orm import Session

from voxguard.errors import AlertNotFound, EventNotFound, InvalidTransition
from voxguard.risk.engine import RiskLevel
from voxguard.services.schemas import (
    AlertOut,
    AlertStatus,
    AlertSummary,
    AlertUpdate,
    EventOut,
)
from voxguard.store.alerts import AlertRepository
from voxguard.store.audit import AuditRepository
from voxguard.store.events import EventRepository
from voxguard.store.filters import AlertFilter, EventFilter
from voxguard.store.models import utcnow

_ALLOWED = {
    AlertStatus.PENDING: {AlertStatus.ACKNOWLEDGED, AlertStatus.RESOLVED, AlertStatus.DISMISSED},
    AlertStatus.ACKNOWLEDGED: {AlertStatus.RESOLVED, AlertStatus.DISMISSED},
    AlertStatus.RESOLVED: set(),
    AlertStatus.DISMISSED: set(),
}


class AlertService:
    def __init__(self, session: Session, actor: str) -> None:
        self.alerts = AlertRepository(session)
        self.events = EventRepository(session)
        self.audit = AuditRepository(session)
        self.actor = actor

    def list_alerts(self, spec: AlertFilter) -> list[AlertOut]:
        return [AlertOut.model_validate(r) for r in self.alerts.list(spec)]

    def update(self, alert_id: str, change: AlertUpdate) -> AlertOut:
        alert = self.alerts.get(alert_id)
        if alert is None:
            raise AlertNotFound(f"No alert with id {alert_id!r}.", alert_id=alert_id)
        current = AlertStatus(alert.status)
        if change.status not in _ALLOWED[current]:
            raise InvalidTransition(
                f"An alert that is {current} cannot become {change.status}.",
                allowed=sorted(_ALLOWED[current]),
            )
        self.audit.record(
            self.actor, "update", "alert", alert.id, status_from=current, status_to=change.status
        )
        alert.status = change.status
        alert.note = change.note if change.note is not None else alert.note
        alert.changed_by = self.actor
        alert.changed_at = utcnow()
        self.alerts.session.flush()
        return AlertOut.model_validate(alert)

    def summary(self, spec: AlertFilter) -> AlertSummary:
        """Alerts matching ``spec`` counted per status and per level (every one listed)."""
        by_status = dict.fromkeys((s.value for s in AlertStatus), 0)
        by_level = dict.fromkeys((level.value for level in RiskLevel), 0)
        for status, level, n in self.alerts.counts(spec):
            by_status[status] = by_status.get(status, 0) + n
            by_level[level] = by_level.get(level, 0) + n
        return AlertSummary(by_status=by_status, by_level=by_level, total=sum(by_status.values()))

    def list_events(self, spec: EventFilter) -> list[EventOut]:
        return [EventOut.model_validate(r) for r in self.events.list(spec)]

    def event(self, event_id: str) -> EventOut:
        row = self.events.get(event_id)
        if row is None:
            raise EventNotFound(f"No event with id {event_id!r}.", event_id=event_id)
        return EventOut.model_validate(row)
