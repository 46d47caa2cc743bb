"""Alert triage and the event log."""

from __future__ import annotations

from sqlalchemy.orm import Session

from voxguard.errors import AlertNotFound, InvalidTransition
from voxguard.services.schemas import AlertOut, AlertStatus, AlertUpdate, EventOut
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

    def list_events(self, spec: EventFilter) -> list[EventOut]:
        return [EventOut.model_validate(r) for r in self.events.list(spec)]
