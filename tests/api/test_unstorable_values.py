"""Values a database cannot hold are refused with a 4xx, never a 500 (found by the schema
fuzzing on PostgreSQL): NUL characters in ids and names, offsets past any integer column."""

from __future__ import annotations

from tests.api.conftest import Api


def test_nul_characters_are_refused(api: Api) -> None:
    c, admin = api.client, api.headers()
    for response in (
        c.get("/v1/speakers/a%00b", headers=admin),
        c.get("/v1/alerts", params={"speaker_id": "a\x00b"}, headers=admin),
        c.patch("/v1/alerts/a%00b", json={"status": "ACKNOWLEDGED"}, headers=admin),
        c.post("/v1/models/spoof/retrain", json={"datasets": ["\x00"]}, headers=admin),
    ):
        # SQLite stores NUL and finds nothing (200, 404); PostgreSQL refuses it (422).
        assert response.status_code < 500, (response.url, response.text)
        if response.status_code >= 400:
            assert set(response.json()) == {"error", "detail", "code"}


def test_offsets_past_any_integer_are_refused(api: Api) -> None:
    huge = str(2**63)
    for path in ("/v1/alerts", "/v1/events", "/v1/jobs", "/v1/speakers", "/v1/datasets"):
        response = api.client.get(path, params={"offset": huge}, headers=api.headers())
        assert response.status_code == 422, (path, response.text)
        assert response.json()["code"] == "validation_error"
