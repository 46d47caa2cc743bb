"""Two ``voxguard serve`` processes on one PostgreSQL database and one Redis, as two API hosts
behind a load balancer: each sees what the other did, and they hold one rate limit.

Each process has its own data dir (as on two machines) and the same settings: the voiceprint
key, the database, the Redis URL. Skips when PostgreSQL, Redis or the speaker engine is
missing, saying which.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import httpx
import pytest
import redis
from cryptography.fernet import Fernet

from tests.api.audio import speaker_halves
from tests.databases import database_url, redis_url, unique_prefix
from tests.e2e.conftest import Server, start_server

BURST = 20  # per API key; the admin's own requests below stay well within it
TRIES = 2 * BURST + 10


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Server]]:
    tmp = tmp_path_factory.mktemp("scaleout")
    shared_redis = redis_url()
    namespace = unique_prefix()
    with database_url("postgresql", tmp) as url, ExitStack() as stack:
        env = {
            "VOXGUARD_DATABASE_URL": url,
            "VOXGUARD_QUEUE_URL": shared_redis,  # the rate limits use it too (no REDIS_URL)
            "VOXGUARD_QUEUE_NAME": namespace,
            "VOXGUARD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "VOXGUARD_RATE_LIMIT_PER_MINUTE": "1",
            "VOXGUARD_RATE_LIMIT_BURST": str(BURST),
        }
        # No VOXGUARD_JWT_SECRET: in development both derive it from the shared key.
        servers = [
            stack.enter_context(
                contextmanager(start_server)(tmp / f"host{i}", "--job-workers", "0", **env)
            )
            for i in (1, 2)
        ]
        speaker = httpx.get(f"{servers[0].url}/health").json()["models"]["speaker"]
        if speaker["status"] != "loaded":
            pytest.skip(f"speaker engine unavailable: {speaker['reason']}")
        assert servers[0].admin_key and not servers[1].admin_key  # one first admin key
        servers[1].admin_key = servers[0].admin_key
        try:
            yield servers[0], servers[1]
        finally:
            client = redis.Redis.from_url(shared_redis)
            keys = list(client.scan_iter(f"{namespace}:*"))
            if keys:
                client.delete(*keys)
            client.close()


def _file(data: bytes) -> dict[str, tuple[str, bytes, str]]:
    return {"file": ("probe.wav", data, "audio/wav")}


def _until(probe: Any, timeout_s: float = 10.0) -> Any:
    """Poll ``probe()`` until it returns something truthy (a generous bound, not a timing)."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = probe()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def test_a_speaker_enrolled_on_one_is_identified_on_the_other(pair: tuple[Server, Server]) -> None:
    one, two = pair
    first_half, second_half = speaker_halves(0)
    with one.client() as a, two.client() as b:
        enrolled = a.post(
            "/v1/speakers",
            data={"name": "Shared Reader"},
            files=[("files", ("enroll.wav", first_half, "audio/wav"))],
        )
        assert enrolled.status_code == 201, enrolled.text
        speaker_id = enrolled.json()["speaker"]["id"]

        def identified() -> dict[str, Any] | None:
            found: dict[str, Any] = b.post("/v1/identify", files=_file(second_half)).json()
            best = found.get("best") or {}
            return found if best.get("speaker_id") == speaker_id else None

        found = _until(identified)
        assert found, b.post("/v1/identify", files=_file(second_half)).json()
        assert found["decision"] == "identified"


def test_an_alert_raised_on_one_is_acknowledged_on_the_other(pair: tuple[Server, Server]) -> None:
    one, two = pair
    stranger, _ = speaker_halves(1)
    with one.client() as a, two.client() as b:
        check = a.post("/v1/check", files=_file(stranger)).json()
        alert_id = check["alert_id"]
        assert alert_id, check

        def pending_on_two() -> bool:
            pending = b.get("/v1/alerts?status=PENDING").json()
            return any(alert["id"] == alert_id for alert in pending)

        assert _until(pending_on_two)
        changed = b.patch(
            f"/v1/alerts/{alert_id}", json={"status": "ACKNOWLEDGED", "note": "seen on host 2"}
        )
        assert changed.status_code == 200, changed.text
        acknowledged = a.get("/v1/alerts?status=ACKNOWLEDGED").json()
        assert [x["status"] for x in acknowledged if x["id"] == alert_id] == ["ACKNOWLEDGED"]


def test_a_token_issued_by_one_is_accepted_by_the_other(pair: tuple[Server, Server]) -> None:
    one, two = pair
    with one.client() as a:
        issued = a.post("/v1/auth/token")
    assert issued.status_code == 200, issued.text
    with two.client(issued.json()["access_token"]) as b:
        answer = b.get("/v1/info")
    assert answer.status_code == 200, answer.text
    assert answer.json()["role"] == "admin"


def test_one_rate_limit_holds_across_both(pair: tuple[Server, Server]) -> None:
    one, two = pair
    with one.client() as admin:
        created = admin.post("/v1/keys", json={"name": "busy client", "role": "reader"})
    assert created.status_code == 201, created.text
    key = created.json()["key"]
    codes: dict[str, list[int]] = {one.url: [], two.url: []}
    with one.client(key) as a, two.client(key) as b:
        for _ in range(TRIES // 2):  # alternating, as a load balancer would send them
            for client in (a, b):
                codes[str(client.base_url).rstrip("/")].append(client.get("/v1/info").status_code)
    statuses = [code for answers in codes.values() for code in answers]
    assert set(statuses) == {200, 429}, codes
    accepted = statuses.count(200)
    # One bucket of BURST for both (plus the odd token refilled at 1/min while this runs);
    # per-process buckets would have let 2 * BURST through.
    assert BURST <= accepted <= BURST + 1, codes
    assert all(200 in answers and 429 in answers for answers in codes.values()), codes
