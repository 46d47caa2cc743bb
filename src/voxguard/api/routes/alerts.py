"""Alerts and the event log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from voxguard.api.deps import OperatorDep, ReaderDep, SessionDep
from voxguard.services.alerts import AlertService
from voxguard.services.schemas import AlertOut, AlertSummary, AlertUpdate, EventOut
from voxguard.store.filters import AlertFilter, EventFilter

router = APIRouter(prefix="/v1", tags=["alerts"])


@router.get("/alerts")
def list_alerts(
    spec: Annotated[AlertFilter, Query()], session: SessionDep, principal: ReaderDep
) -> list[AlertOut]:
    return AlertService(session, principal.actor).list_alerts(spec)


@router.get("/alerts/summary")
def alert_summary(
    spec: Annotated[AlertFilter, Query()], session: SessionDep, principal: ReaderDep
) -> AlertSummary:
    """Alerts matching the filters, counted per status and per level (paging ignored)."""
    return AlertService(session, principal.actor).summary(spec)


@router.patch("/alerts/{alert_id}")
def update_alert(
    alert_id: str, change: AlertUpdate, session: SessionDep, principal: OperatorDep
) -> AlertOut:
    return AlertService(session, principal.actor).update(alert_id, change)


@router.get("/events")
def list_events(
    spec: Annotated[EventFilter, Query()], session: SessionDep, principal: ReaderDep
) -> list[EventOut]:
    return AlertService(session, principal.actor).list_events(spec)


@router.get("/events/{event_id}")
def get_event(event_id: str, session: SessionDep, principal: ReaderDep) -> EventOut:
    return AlertService(session, principal.actor).event(event_id)
