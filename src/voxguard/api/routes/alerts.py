"""Alerts and the event log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from voxguard.api.deps import OperatorDep, ReaderDep, SessionDep
from voxguard.services.alerts import AlertService
from voxguard.services.schemas import AlertOut, AlertUpdate, EventOut
from voxguard.store.filters import AlertFilter, EventFilter

router = APIRouter(prefix="/v1", tags=["alerts"])


@router.get("/alerts")
def list_alerts(
    spec: Annotated[AlertFilter, Query()], session: SessionDep, principal: ReaderDep
) -> list[AlertOut]:
    return AlertService(session, principal.actor).list_alerts(spec)


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
