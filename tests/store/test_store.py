from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text

from voxguard.config import Settings
from voxguard.errors import Conflict, EncryptionKeyMismatch
from voxguard.speaker.types import Voiceprint
from voxguard.store.alerts import AlertRepository
from voxguard.store.api_keys import ApiKeyRepository
from voxguard.store.audit import AuditRepository
from voxguard.store.db import unit_of_work
from voxguard.store.events import EventRepository
from voxguard.store.filters import AlertFilter, EventFilter
from voxguard.store.models import Alert, ApiKey, CheckEvent, Speaker
from voxguard.store.setup import Store, open_store
from voxguard.store.speakers import SpeakerRepository


def _voiceprint() -> Voiceprint:
    vector = np.linspace(-1, 1, 256, dtype=np.float32)
    return Voiceprint(vector / np.linalg.norm(vector), 2, 6.5, 0.9, "ge2e-test")


def test_speaker_round_trip_with_encrypted_voiceprint(store: Store) -> None:
    with unit_of_work(store.sessions) as session:
        repo = SpeakerRepository(session)
        speaker = repo.add(Speaker(display_name="Alice", external_id="a-1", enrollment_count=2))
        plaintext = _voiceprint().to_bytes()
        repo.save_voiceprint(speaker.id, "ge2e-test", store.cipher.encrypt(plaintext))
        speaker_id = speaker.id
    with unit_of_work(store.sessions) as session:
        repo = SpeakerRepository(session)
        loaded = repo.get(speaker_id)
        assert loaded is not None and loaded.display_name == "Alice"
        assert loaded.created_at.tzinfo is not None
        assert [s.id for s in repo.by_name("alice")] == [speaker_id]
        ((gallery_id, token),) = repo.gallery("ge2e-test")
        assert gallery_id == speaker_id
        assert plaintext not in token  # encrypted at rest
        restored = Voiceprint.from_bytes(store.cipher.decrypt(token))
        np.testing.assert_allclose(restored.vector, _voiceprint().vector)
        assert repo.gallery("other-model") == []
        repo.delete(loaded)
    with unit_of_work(store.sessions) as session:
        assert SpeakerRepository(session).gallery("ge2e-test") == []


def test_failed_unit_of_work_rolls_back(store: Store) -> None:
    with pytest.raises(RuntimeError), unit_of_work(store.sessions) as session:
        SpeakerRepository(session).add(Speaker(display_name="Ghost"))
        raise RuntimeError("boom")
    with unit_of_work(store.sessions) as session:
        assert SpeakerRepository(session).page(0, 10)[1] == 0


def test_events_alerts_keys_audit(store: Store) -> None:
    now = datetime.now(UTC)
    with unit_of_work(store.sessions) as session:
        event = EventRepository(session).add(
            CheckEvent(operation="check", caller="k1", decision="unknown", scores={"x": 0.1})
        )
        alerts = AlertRepository(session)
        alerts.add(Alert(level="HIGH", reason="synthetic", event_id=event.id))
        alerts.add(Alert(level="MEDIUM", reason="unknown", event_id=event.id, status="RESOLVED"))
        ApiKeyRepository(session).add(
            ApiKey(name="n", prefix="vg_ab", key_hash="h" * 64, role="reader")
        )
        AuditRepository(session).record("k1", "create", "speaker", "s1", name="x")
    with unit_of_work(store.sessions) as session:
        alerts = AlertRepository(session)
        assert [a.level for a in alerts.list(AlertFilter(status="PENDING"))] == ["HIGH"]
        assert len(alerts.list(AlertFilter(since=now - timedelta(minutes=1)))) == 2
        assert alerts.list(AlertFilter(since=now + timedelta(minutes=1))) == []
        assert EventRepository(session).list(EventFilter(operation="check"))[0].scores == {"x": 0.1}
        assert ApiKeyRepository(session).by_hash("h" * 64) is not None
        assert AuditRepository(session).list()[0].detail == {"name": "x"}


def test_sqlite_uses_wal(store: Store) -> None:
    if store.engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    with store.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"


def test_another_encryption_key_is_refused(store: Store, settings: Settings) -> None:
    other = settings.model_copy(update={"encryption_key": Fernet.generate_key().decode()})
    with pytest.raises(EncryptionKeyMismatch, match="different encryption key"):
        open_store(other)
    open_store(settings).close()  # the right key still opens it; migrations are idempotent


def test_unique_violation_becomes_a_conflict(store: Store) -> None:
    with unit_of_work(store.sessions) as session:
        SpeakerRepository(session).add(Speaker(display_name="A", external_id="same"))
    with pytest.raises(Conflict), unit_of_work(store.sessions) as session:
        SpeakerRepository(session).add(Speaker(display_name="B", external_id="same"))
