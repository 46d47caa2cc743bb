from __future__ import annotations

from tests.api.audio import speaker_halves
from tests.api.conftest import Api


def _enroll(api: Api, name: str, *recordings: bytes) -> dict:  # type: ignore[type-arg]
    files = [("files", (f"{name}{i}.wav", data, "audio/wav")) for i, data in enumerate(recordings)]
    response = api.client.post(
        "/v1/speakers", data={"name": name}, files=files, headers=api.headers("operator")
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_enroll_list_get_add_samples_delete(api: Api) -> None:
    first, second = speaker_halves(0)
    body = _enroll(api, "Alice", first)
    speaker = body["speaker"]
    assert speaker["enrollment_count"] == 1 and speaker["speech_seconds"] > 1
    assert speaker["behavior_profile"]["pitch_median_hz"] > 0
    assert body["samples"][0]["quality"]["score"] > 0

    added = api.client.post(
        f"/v1/speakers/{speaker['id']}/samples",
        files=[("files", ("more.wav", second, "audio/wav"))],
        headers=api.headers("operator"),
    ).json()
    assert added["speaker"]["enrollment_count"] == 2

    page = api.client.get("/v1/speakers?limit=10", headers=api.headers("reader")).json()
    assert page["total"] == 1 and page["items"][0]["display_name"] == "Alice"
    got = api.client.get(f"/v1/speakers/{speaker['id']}", headers=api.headers("reader"))
    assert got.json()["enrollment_count"] == 2

    assert (
        api.client.delete(f"/v1/speakers/{speaker['id']}", headers=api.headers()).status_code == 204
    )
    missing = api.client.get(f"/v1/speakers/{speaker['id']}", headers=api.headers())
    assert missing.status_code == 404 and missing.json()["code"] == "speaker_not_found"
    audit = api.client.get(f"/v1/audit?entity_id={speaker['id']}", headers=api.headers()).json()
    assert [e["action"] for e in audit] == ["delete", "add_samples", "enroll"]
    assert audit[0]["actor"].startswith("key:admin") and audit[2]["actor"].startswith(
        "key:operator"
    )


def test_verify_identify_check_and_alerts(api: Api) -> None:
    alice_a, alice_b = speaker_halves(0)
    bob_a, _ = speaker_halves(1)
    stranger, _ = speaker_halves(2)
    alice = _enroll(api, "Alice", alice_a)["speaker"]
    _enroll(api, "Bob", bob_a)
    op = api.headers("operator")

    verify = api.client.post(
        "/v1/verify",
        data={"speaker_id": alice["id"]},
        files={"file": ("probe.wav", alice_b, "audio/wav")},
        headers=op,
    ).json()
    assert verify["decision"] in ("accept", "reject") and 0 <= verify["probability"] <= 1

    identify = api.client.post(
        "/v1/identify", files={"file": ("probe.wav", alice_a, "audio/wav")}, headers=op
    ).json()
    assert identify["decision"] == "identified"
    assert identify["best"]["display_name"] == "Alice"

    check = api.client.post(
        "/v1/check", files={"file": ("probe.wav", alice_a, "audio/wav")}, headers=op
    ).json()
    assert check["recognized"] and check["speaker"]["display_name"] == "Alice"
    assert check["spoof_probability"] is None and check["spoof"]["status"] == "unavailable"
    assert any("spoof check unavailable" in r for r in check["reasons"])
    assert check["risk_level"] in ("LOW", "MEDIUM", "HIGH")

    unknown = api.client.post(
        "/v1/check", files={"file": ("stranger.wav", stranger, "audio/wav")}, headers=op
    ).json()
    if not unknown["recognized"]:
        assert unknown["verdict"] in ("Unknown speaker", "Possible impersonation")
        assert unknown["alert_id"]
    alerts = api.client.get("/v1/alerts?status=PENDING&recent=true", headers=api.headers("reader"))
    assert alerts.status_code == 200
    for alert in alerts.json():
        assert alert["level"] in ("MEDIUM", "HIGH")
    if alerts.json():
        alert_id = alerts.json()[0]["id"]
        ack = api.client.patch(
            f"/v1/alerts/{alert_id}",
            json={"status": "ACKNOWLEDGED", "note": "calling back"},
            headers=op,
        ).json()
        assert ack["status"] == "ACKNOWLEDGED" and ack["changed_by"].startswith("key:operator")
        again = api.client.patch(f"/v1/alerts/{alert_id}", json={"status": "PENDING"}, headers=op)
        assert again.status_code == 409 and again.json()["code"] == "invalid_transition"

    events = api.client.get("/v1/events", headers=api.headers("reader")).json()
    assert {e["operation"] for e in events} == {"verify", "identify", "check"}
    assert all("filename" in e["audio"] for e in events)


def test_detect_reports_unavailable_spoof_model(api: Api) -> None:
    first, _ = speaker_halves(0)
    response = api.client.post(
        "/v1/detect", files={"file": ("a.wav", first, "audio/wav")}, headers=api.headers("operator")
    )
    assert response.status_code == 503
    assert response.json()["code"] == "model_unavailable"
    assert "spoof model not built" in response.json()["error"]


def test_identification_sees_every_enrollment_and_deletion(api: Api) -> None:
    alice, _ = speaker_halves(0)
    bob, _ = speaker_halves(1)
    op = api.headers("operator")

    def best(audio: bytes) -> str | None:
        found = api.client.post(
            "/v1/identify", files={"file": ("p.wav", audio, "audio/wav")}, headers=op
        ).json()
        return found["best"]["display_name"] if found["best"] else None

    _enroll(api, "Alice", alice)
    assert best(alice) == "Alice"
    bob_id = _enroll(api, "Bob", bob)["speaker"]["id"]
    assert best(bob) == "Bob"  # the cached gallery was rebuilt
    api.client.delete(f"/v1/speakers/{bob_id}", headers=api.headers())
    assert best(bob) != "Bob"


def test_search_by_part_of_a_name_or_external_id(api: Api) -> None:
    for index, name in enumerate(("Alice Martin", "Bob Stone", "alicia 100%_sure")):
        files = [("files", (f"{index}.wav", speaker_halves(index)[0], "audio/wav"))]
        data = {"name": name, "external_id": f"CRM-{index}"}
        response = api.client.post(
            "/v1/speakers", data=data, files=files, headers=api.headers("operator")
        )
        assert response.status_code == 201, response.text

    def names(q: str) -> list[str]:
        page = api.client.get("/v1/speakers", params={"q": q}, headers=api.headers("reader"))
        return [s["display_name"] for s in page.json()["items"]]

    assert names("ALI") == ["Alice Martin", "alicia 100%_sure"]
    assert names("crm-1") == ["Bob Stone"]
    # LIKE wildcards are taken literally.
    assert names("%") == ["alicia 100%_sure"] and names("_") == ["alicia 100%_sure"]
    assert len(names("")) == 3 and names("nobody") == []


def test_stale_lists_speakers_without_a_voiceprint_of_the_current_model(api: Api) -> None:
    from voxguard.store.db import unit_of_work
    from voxguard.store.speakers import SpeakerRepository

    current = _enroll(api, "Current", speaker_halves(0)[0])["speaker"]["id"]
    old = _enroll(api, "Old", speaker_halves(1)[0])["speaker"]["id"]
    with unit_of_work(api.runtime.store.sessions) as session:
        repo = SpeakerRepository(session)
        row = repo.voiceprint(old, "test-spectral-1")
        assert row is not None
        row.model_version = "encoder-before-upgrade"
    stale = api.client.get("/v1/speakers?stale=true", headers=api.headers("reader")).json()
    assert [s["id"] for s in stale["items"]] == [old] and stale["total"] == 1
    every = api.client.get("/v1/speakers", headers=api.headers("reader")).json()
    assert {s["id"] for s in every["items"]} == {current, old}
