"""``kill -9`` of a real ``voxguard serve`` in the middle of enrollments, speaker deletions
and alert updates leaves a consistent database, on SQLite and on PostgreSQL.

Each round seeds speakers to delete and pending alerts (server down), starts the server,
keeps one enrollment, one deletion and one alert update in flight at all times from three
clients, and kills the server after a random delay. Then, with the server down, the database
must hold no half-enrolled speaker (a speaker without a voiceprint, a voiceprint without a
speaker, an enrollment audited but not stored), every speaker either wholly deleted (row,
voiceprints, and the audit entry) or wholly present, every alert's status the end of its
audited transitions, and every write the server acknowledged. A last start proves the server
serves the database it left.
"""

from __future__ import annotations

import json
import os
import random
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from tests.databases import BACKENDS, database_url
from tests.e2e.conftest import Server, start_server
from tests.e2e.data import fsdd_enrollment
from voxguard.store.db import make_engine
from voxguard.store.models import Alert, AuditEntry, Speaker, VoiceprintRow

ROUNDS = 3
# Enough that deletions and updates are still running when the kill comes.
SEEDED_SPEAKERS = 150
SEEDED_ALERTS = 150
LIMITS = {"VOXGUARD_RATE_LIMIT_PER_MINUTE": "1000000", "VOXGUARD_RATE_LIMIT_BURST": "1000000"}


@dataclass
class Outcomes:
    """What the clients saw: acknowledged writes, and requests cut by the kill."""

    enrolled: list[str] = field(default_factory=list)  # names answered 201
    attempted: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)  # ids answered 204
    updated: dict[str, str] = field(default_factory=dict)  # alert id -> status answered 200
    cut: dict[str, int] = field(default_factory=dict)  # requests in flight at a kill


class Deployment:
    """One data dir and database, served by one ``voxguard serve`` at a time."""

    def __init__(self, backend: str, tmp: Path, url: str) -> None:
        self.backend, self.data = backend, tmp / "data"
        self.db_url = url if backend == "postgresql" else f"sqlite:///{self.data / 'voxguard.db'}"
        self.env = {**LIMITS, **({"VOXGUARD_DATABASE_URL": url} if backend != "sqlite" else {})}
        self.admin_key = ""

    def start(self) -> tuple[Server, Iterator[Server]]:
        runs = start_server(self.data, "--job-workers", "0", **self.env)
        server = next(runs)
        self.admin_key = self.admin_key or server.admin_key
        return server, runs

    def engine(self) -> Engine:
        return make_engine(self.db_url)


@pytest.fixture(params=BACKENDS)
def deployment(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Deployment]:
    with database_url(request.param, tmp_path) as url:
        yield Deployment(request.param, tmp_path, url)


def _client(server: Server, key: str) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers={"X-API-Key": key}, timeout=60)


def _enroll(client: httpx.Client, name: str, audio: bytes) -> httpx.Response:
    files = [("files", (f"{name}.wav", audio, "audio/wav"))]
    return client.post("/v1/speakers", data={"name": name}, files=files)


def _seed(engine: Engine, round_no: int) -> tuple[list[str], list[str]]:
    """Speakers enrolled as the API would (their voiceprint the template's) and pending
    alerts, written while the server is down."""
    with Session(engine) as db, db.begin():
        template = db.scalars(select(VoiceprintRow)).first()
        assert template is not None
        speakers = [
            Speaker(display_name=f"seeded-{round_no}-{i}", enrollment_count=1)
            for i in range(SEEDED_SPEAKERS)
        ]
        db.add_all(speakers)
        db.flush()
        for speaker in speakers:
            db.add(
                VoiceprintRow(
                    speaker_id=speaker.id,
                    model_version=template.model_version,
                    ciphertext=template.ciphertext,
                )
            )
            db.add(
                AuditEntry(actor="seed", action="enroll", entity="speaker", entity_id=speaker.id)
            )
        alerts = [
            Alert(status="PENDING", level="HIGH", reason=f"seeded {round_no}-{i}")
            for i in range(SEEDED_ALERTS)
        ]
        db.add_all(alerts)
        db.flush()
        return [s.id for s in speakers], [a.id for a in alerts]


def _run(name: str, outcomes: Outcomes, loop: Any) -> threading.Thread:
    def guarded() -> None:
        try:
            loop()
        except httpx.ConnectError:
            pass  # sent after the kill: it never reached the server
        except httpx.TransportError:
            outcomes.cut[name] = outcomes.cut.get(name, 0) + 1  # in flight at the kill

    thread = threading.Thread(target=guarded, name=name, daemon=True)
    thread.start()
    return thread


def _round(
    deployment: Deployment,
    engine: Engine,
    round_no: int,
    audio: bytes,
    outcomes: Outcomes,
    rng: random.Random,
) -> None:
    speakers, alerts = _seed(engine, round_no)
    server, runs = deployment.start()
    stop = threading.Event()

    def enroller() -> None:
        with _client(server, deployment.admin_key) as client:
            for i in range(10_000):
                name = f"enrolled-{round_no}-{i}"
                outcomes.attempted.append(name)
                if _enroll(client, name, audio).status_code == 201:
                    outcomes.enrolled.append(name)

    def deleter() -> None:
        with _client(server, deployment.admin_key) as client:
            for sid in speakers:
                if client.delete(f"/v1/speakers/{sid}").status_code == 204:
                    outcomes.deleted.append(sid)
            stop.wait()

    def updater() -> None:
        with _client(server, deployment.admin_key) as client:
            for aid in alerts:
                for status in ("ACKNOWLEDGED", "RESOLVED"):
                    response = client.patch(f"/v1/alerts/{aid}", json={"status": status})
                    if response.status_code == 200:
                        outcomes.updated[aid] = status
            stop.wait()

    threads = [_run(f, outcomes, fn) for f, fn in [("enroll", enroller), ("delete", deleter)]]
    threads.append(_run("update", outcomes, updater))
    # The first enrollment's decode and embedding, the deletions and updates all under way.
    threading.Event().wait(rng.uniform(0.3, 2.0))
    assert server.process is not None
    os.kill(server.process.pid, signal.SIGKILL)
    server.process.wait(timeout=30)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    runs.close()


def _rows(engine: Engine, sql: str, **params: Any) -> list[Any]:
    with engine.connect() as db:
        return list(db.execute(text(sql), params))


def _assert_consistent(engine: Engine, outcomes: Outcomes) -> None:
    orphans = _rows(
        engine,
        "SELECT s.id FROM speakers s LEFT JOIN voiceprints v ON v.speaker_id = s.id"
        " WHERE v.id IS NULL",
    )
    assert orphans == [], "speakers without a voiceprint"
    strays = _rows(
        engine,
        "SELECT v.id FROM voiceprints v LEFT JOIN speakers s ON s.id = v.speaker_id"
        " WHERE s.id IS NULL",
    )
    assert strays == [], "voiceprints without a speaker"

    speakers = {
        r.id: r.display_name for r in _rows(engine, "SELECT id, display_name FROM speakers")
    }
    audit = _rows(
        engine,
        "SELECT action, entity, entity_id, detail FROM audit_log ORDER BY id",
    )
    enrolled = {r.entity_id for r in audit if r.entity == "speaker" and r.action == "enroll"}
    deleted = {r.entity_id for r in audit if r.entity == "speaker" and r.action == "delete"}
    assert set(speakers) <= enrolled, "a speaker stored without its enrollment audited"
    assert enrolled - set(speakers) == deleted, "an audited enrollment with no speaker left"
    assert not deleted & set(speakers), "a speaker audited as deleted is still there"

    names = list(speakers.values())
    assert all(names.count(n) == 1 for n in names if n.startswith("enrolled-"))
    assert set(outcomes.enrolled) <= set(names), "an acknowledged enrollment was lost"
    assert not set(outcomes.deleted) & set(speakers), "an acknowledged deletion was lost"

    updates: dict[str, list[tuple[str, str]]] = {}
    for r in audit:
        if r.entity == "alert" and r.action == "update":
            detail = r.detail if isinstance(r.detail, dict) else json.loads(r.detail)
            updates.setdefault(r.entity_id, []).append((detail["status_from"], detail["status_to"]))
    for alert in _rows(engine, "SELECT id, status, changed_by FROM alerts"):
        chain = updates.get(alert.id, [])
        expected = "PENDING"
        for status_from, status_to in chain:
            assert status_from == expected, f"alert {alert.id}: audit chain broken {chain}"
            expected = status_to
        assert alert.status == expected, f"alert {alert.id} is {alert.status}, audit: {chain}"
        assert (alert.changed_by is None) == (not chain)
    for aid, status in outcomes.updated.items():
        (current,) = _rows(engine, "SELECT status FROM alerts WHERE id = :id", id=aid)
        order = ["PENDING", "ACKNOWLEDGED", "RESOLVED"]
        assert order.index(current.status) >= order.index(status), "an acknowledged update lost"


def test_kill_9_mid_writes_leaves_a_consistent_database(deployment: Deployment) -> None:
    audio = fsdd_enrollment("george")
    server, runs = deployment.start()
    health = httpx.get(f"{server.url}/health").json()
    if health["models"]["speaker"]["status"] != "loaded":
        runs.close()
        pytest.skip(f"speaker engine unavailable: {health['models']['speaker']['reason']}")
    with _client(server, deployment.admin_key) as client:
        assert _enroll(client, "template", audio).status_code == 201
    runs.close()

    rng = random.Random(22)
    outcomes = Outcomes(enrolled=["template"])
    engine = deployment.engine()
    try:
        for round_no in range(ROUNDS):
            _round(deployment, engine, round_no, audio, outcomes, rng)
            _assert_consistent(engine, outcomes)
        if deployment.backend == "sqlite":
            assert _rows(engine, "PRAGMA integrity_check")[0][0] == "ok"
    except BaseException:
        engine.dispose()
        raise
    # The kills landed mid-request: a client was waiting for its answer.
    print(f"requests in flight at the {ROUNDS} kills: {outcomes.cut}")
    assert sum(outcomes.cut.values()) >= 1, outcomes.cut
    assert outcomes.deleted and outcomes.updated

    server, runs = deployment.start()
    try:
        with _client(server, deployment.admin_key) as client:
            listed = client.get("/v1/speakers", params={"limit": 500}).json()
            stored = _rows(engine, "SELECT COUNT(*) FROM speakers")[0][0]
            assert listed["total"] == stored
            probe = _enroll(client, "after-crashes", audio)
            assert probe.status_code == 201, probe.text
    finally:
        runs.close()
        engine.dispose()
