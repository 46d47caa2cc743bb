"""Kept enrollment recordings' rows, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from voxguard.store.db import unit_of_work
from voxguard.store.models import Base, Speaker, SpeakerSample
from voxguard.store.setup import Store
from voxguard.store.speaker_samples import SpeakerSampleRepository, StaleSpeaker
from voxguard.store.speakers import SpeakerRepository


def _speaker(store: Store, name: str, versions: list[str], kept: int, count: int) -> str:
    with unit_of_work(store.sessions) as session:
        repo = SpeakerRepository(session)
        speaker = repo.add(Speaker(display_name=name, enrollment_count=count))
        for version in versions:
            repo.save_voiceprint(speaker.id, version, b"token")
        SpeakerSampleRepository(session).add_all(
            [
                SpeakerSample(
                    speaker_id=speaker.id,
                    sha256=f"{name}{i}".ljust(64, "0"),
                    filename=f"{name}{i}.wav",
                    size_bytes=1000,
                    duration_s=2.5,
                )
                for i in range(kept)
            ]
        )
        return speaker.id


def test_migrated_schema_matches_the_models(store: Store) -> None:
    with store.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert [d for d in diff if "speaker_samples" in str(d)] == []


def test_stale_speakers_with_their_kept_recordings(store: Store) -> None:
    kept = _speaker(store, "kept", ["v1"], kept=2, count=2)
    part = _speaker(store, "part", ["v1"], kept=1, count=3)
    none = _speaker(store, "none", ["v1"], kept=0, count=1)
    _speaker(store, "current", ["v1", "v2"], kept=1, count=1)
    with unit_of_work(store.sessions) as session:
        repo = SpeakerSampleRepository(session)
        assert repo.stale("v2") == [
            StaleSpeaker(kept, "kept", 2, 2),
            StaleSpeaker(part, "part", 3, 1),
            StaleSpeaker(none, "none", 1, 0),
        ]
        assert repo.stale("v1") == []
        assert [s.filename for s in repo.for_speaker(kept)] == ["kept0.wav", "kept1.wav"]
        assert len(repo.all_hashes()) == 4


def test_delete_for_returns_the_files_to_remove_and_rows_go_with_the_speaker(
    store: Store,
) -> None:
    first = _speaker(store, "first", ["v1"], kept=2, count=2)
    second = _speaker(store, "second", ["v1"], kept=1, count=1)
    with unit_of_work(store.sessions) as session:
        hashes = SpeakerSampleRepository(session).delete_for(first)
    assert sorted(hashes) == ["first0".ljust(64, "0"), "first1".ljust(64, "0")]
    with unit_of_work(store.sessions) as session:
        repo = SpeakerSampleRepository(session)
        assert repo.for_speaker(first) == []
        speakers = SpeakerRepository(session)
        speaker = speakers.get(second)
        assert speaker is not None
        speakers.delete(speaker)  # the foreign key cascades
    with unit_of_work(store.sessions) as session:
        assert SpeakerSampleRepository(session).all_hashes() == set()
