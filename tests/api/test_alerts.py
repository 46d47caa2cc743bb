"""Alert counts for the dashboard, and one event by id (the page an alert links to)."""

from __future__ import annotations

from tests.api.conftest import Api
from voxguard.store.alerts import AlertRepository
from voxguard.store.db import unit_of_work
from voxguard.store.events import EventRepository
from voxguard.store.models import Alert, CheckEvent


def _seed(api: Api) -> list[str]:
    """Three events with alerts: HIGH pending, HIGH acknowledged, MEDIUM pending."""
    ids = []
    with unit_of_work(api.runtime.store.sessions) as session:
        for level, status in (("HIGH", "PENDING"), ("HIGH", "ACKNOWLEDGED"), ("MEDIUM", "PENDING")):
            event = EventRepository(session).add(
                CheckEvent(operation="check", caller="test", decision="flagged", risk_level=level)
            )
            AlertRepository(session).add(
                Alert(level=level, status=status, reason="test", event_id=event.id)
            )
            ids.append(event.id)
    return ids


def test_summary_counts_per_status_and_level_under_the_filters(api: Api) -> None:
    _seed(api)
    get = api.client.get
    everything = get("/v1/alerts/summary", headers=api.headers("reader")).json()
    assert everything == {
        "by_status": {"PENDING": 2, "ACKNOWLEDGED": 1, "RESOLVED": 0, "DISMISSED": 0},
        "by_level": {"LOW": 0, "MEDIUM": 1, "HIGH": 2},
        "total": 3,
    }
    pending = get("/v1/alerts/summary?status=PENDING", headers=api.headers("reader")).json()
    assert pending["total"] == 2 and pending["by_level"]["HIGH"] == 1
    # Paging of the list does not change the counts.
    paged = get("/v1/alerts/summary?limit=1&offset=2", headers=api.headers("reader")).json()
    assert paged["total"] == 3
    bad = get("/v1/alerts/summary?level=SEVERE", headers=api.headers("reader"))
    assert bad.status_code == 422 and "level" in bad.json()["error"]


def test_one_event_by_id(api: Api) -> None:
    first = _seed(api)[0]
    event = api.client.get(f"/v1/events/{first}", headers=api.headers("reader")).json()
    assert event["id"] == first and event["risk_level"] == "HIGH"
    missing = api.client.get("/v1/events/nope", headers=api.headers("reader"))
    assert missing.status_code == 404 and missing.json()["code"] == "event_not_found"
    assert api.client.get(f"/v1/events/{first}").status_code == 401
