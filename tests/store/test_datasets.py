from __future__ import annotations

from datetime import timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.exc import IntegrityError

from voxguard.store.datasets import DatasetRepository, Tally
from voxguard.store.db import unit_of_work
from voxguard.store.models import Base, Dataset, DatasetItem, utcnow
from voxguard.store.setup import Store


def _item(path: str, sha: str, label: str = "bonafide", system: str | None = None) -> DatasetItem:
    return DatasetItem(
        path=path,
        label=label,
        system=system,
        sha256=sha * 64,
        size_bytes=1000,
        duration_s=2.0,
        speech_s=1.5,
        sample_rate=16000,
        channels=1,
        codec="pcm_s16le",
    )


def _add(store: Store, name: str, *items: DatasetItem) -> str:
    with unit_of_work(store.sessions) as session:
        dataset = Dataset(name=name, source="files", created_by="t")
        DatasetRepository(session).add_recordings(dataset, list(items))
        return dataset.id


def test_migrated_schema_matches_the_models(store: Store) -> None:
    with store.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert [d for d in diff if "dataset" in str(d)] == []


def test_recordings_blobs_tallies_and_delete(store: Store) -> None:
    first = _add(
        store,
        "first",
        _item("a.wav", "a"),
        _item("b.wav", "b", "spoof", "tts"),
        _item("c.wav", "c", "spoof", "tts"),
    )
    second = _add(store, "second", _item("x.wav", "a"), _item("y.wav", "d", "spoof"))
    with unit_of_work(store.sessions) as session:
        repo = DatasetRepository(session)
        assert repo.all_blobs() == {c * 64 for c in "abcd"}  # "a" stored once
        assert repo.known_blobs(["a" * 64, "e" * 64]) == {"a" * 64}
        tallies = sorted(repo.tallies([first, second]))
        assert Tally(first, "spoof", "tts", 2, 4.0, 3.0, 2000) in tallies
        assert Tally(second, "spoof", None, 1, 2.0, 1.5, 1000) in tallies
        assert len(tallies) == 4
        rows, total = repo.page(0, 1)
        assert total == 2 and [r.id for r in rows] == [second]  # newest first
        assert [i.path for i in repo.items(first, 1, 5)] == ["b.wav", "c.wav"]

        dataset = repo.get(first)
        assert dataset is not None
        assert sorted(repo.delete(dataset)) == ["b" * 64, "c" * 64]  # "a" is in second too
        assert repo.all_blobs() == {"a" * 64, "d" * 64}
        assert repo.tallies([first]) == []


def test_one_path_once_per_dataset(store: Store) -> None:
    with pytest.raises(IntegrityError), store.sessions() as session:
        repo = DatasetRepository(session)
        repo.add_recordings(
            Dataset(name="d", source="files", created_by="t"),
            [_item("a.wav", "a"), _item("a.wav", "b")],
        )


def test_created_before(store: Store) -> None:
    old = _add(store, "old", _item("a.wav", "a"))
    _add(store, "new", _item("a.wav", "a"))
    with unit_of_work(store.sessions) as session:
        row = session.get(Dataset, old)
        assert row is not None
        row.created_at = utcnow() - timedelta(days=10)
    with unit_of_work(store.sessions) as session:
        found = DatasetRepository(session).created_before(utcnow() - timedelta(days=5))
        assert [d.id for d in found] == [old]


def test_after_commit_runs_only_on_commit(store: Store) -> None:
    ran: list[str] = []
    with unit_of_work(store.sessions) as session:
        DatasetRepository(session).after_commit(lambda: ran.append("committed"))
        assert ran == []
    assert ran == ["committed"]
    with pytest.raises(RuntimeError), unit_of_work(store.sessions) as session:
        DatasetRepository(session).after_commit(lambda: ran.append("rolled back"))
        raise RuntimeError("boom")
    assert ran == ["committed"]
