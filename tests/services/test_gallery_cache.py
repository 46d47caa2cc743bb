"""The per-process gallery kept in step with the store: the version and change log written with
each enrollment and deletion, two caches on one database standing for two workers, and the
index persisted under the data directory, loaded by a restarted worker and caught up. Both
database backends; the real speaker engine on synthetic voiceprints."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from cryptography.fernet import Fernet

from tests.databases import BACKENDS, database_url
from voxguard.config import Settings
from voxguard.services.gallery import GalleryCache
from voxguard.speaker.engine import SpeakerEngine
from voxguard.speaker.gallery import SpeakerGallery
from voxguard.speaker.scoring import unit_rows
from voxguard.speaker.types import Embedding, Voiceprint
from voxguard.store.db import unit_of_work
from voxguard.store.gallery_changes import GalleryChangeRepository, GalleryOp
from voxguard.store.models import Speaker
from voxguard.store.sealed import read_sealed
from voxguard.store.setup import Store, open_store
from voxguard.store.speakers import SpeakerRepository

THRESHOLD = 20  # low, so that 30-odd speakers already go through the approximate index


@pytest.fixture(scope="module")
def engine() -> SpeakerEngine:
    return SpeakerEngine()


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with database_url(request.param, tmp_path) as url:
        settings = Settings(
            data_dir=tmp_path / "data", database_url=url, encryption_key=Fernet.generate_key()
        )
        opened = open_store(settings)
        yield opened
        opened.close()


def voiceprint(engine: SpeakerEngine, seed: int) -> Voiceprint:
    rng = np.random.default_rng(seed)
    vector = np.abs(unit_rows(rng.standard_normal((1, 256)).astype(np.float32))[0])
    return engine.enroll(
        [Embedding(vector=vector, speech_s=5.0, model_version=engine.model_version)]
    )


def enroll(store: Store, engine: SpeakerEngine, seed: int, name: str = "") -> str:
    """What enrollment writes: a speaker and their encrypted voiceprint, in one unit of work."""
    with unit_of_work(store.sessions) as session:
        repo = SpeakerRepository(session)
        speaker = repo.add(Speaker(display_name=name or f"speaker {seed}"))
        token = store.cipher.encrypt(voiceprint(engine, seed).to_bytes())
        repo.save_voiceprint(speaker.id, engine.model_version, token)
        return speaker.id


def delete(store: Store, speaker_id: str) -> None:
    with unit_of_work(store.sessions) as session:
        repo = SpeakerRepository(session)
        speaker = repo.get(speaker_id)
        assert speaker is not None
        repo.delete(speaker)


def request(cache: GalleryCache, store: Store, engine: SpeakerEngine) -> SpeakerGallery:
    """One identify request's look at the gallery."""
    with unit_of_work(store.sessions) as session:
        gallery = cache.get(engine, SpeakerRepository(session), store.cipher)
    assert isinstance(gallery, SpeakerGallery)
    return gallery


def identified(gallery: SpeakerGallery, engine: SpeakerEngine, seed: int) -> str | None:
    probe = Embedding(
        vector=voiceprint(engine, seed).vector, speech_s=5.0, model_version=engine.model_version
    )
    best = engine.identify(probe, gallery, top_k=3).best
    return best.speaker_id if best else None


def test_each_enrollment_and_deletion_raises_the_version_with_a_log_row(
    store: Store, engine: SpeakerEngine
) -> None:
    with unit_of_work(store.sessions) as session:
        start = GalleryChangeRepository(session).state()
    assert start.version == 0 and len(start.epoch) == 32
    alice, bob = enroll(store, engine, 1), enroll(store, engine, 2)
    with unit_of_work(store.sessions) as session:  # more samples: the voiceprint is replaced
        SpeakerRepository(session).save_voiceprint(
            alice, engine.model_version, store.cipher.encrypt(voiceprint(engine, 3).to_bytes())
        )
    delete(store, bob)
    with pytest.raises(RuntimeError), unit_of_work(store.sessions) as session:
        GalleryChangeRepository(session).record(alice, GalleryOp.ENROLL)
        raise RuntimeError("rolled back: neither the version nor the log moves")
    with unit_of_work(store.sessions) as session:
        changes = GalleryChangeRepository(session)
        assert changes.state().version == 4 and changes.state().epoch == start.epoch
        log = [(c.version, c.speaker_id, c.op) for c in changes.since(0)]
        assert [(c.version, c.speaker_id, c.op) for c in changes.since(2)] == log[2:]
    assert log == [
        (1, alice, GalleryOp.ENROLL),
        (2, bob, GalleryOp.ENROLL),
        (3, alice, GalleryOp.ENROLL),
        (4, bob, GalleryOp.DELETE),
    ]


def test_concurrent_writers_get_distinct_versions(store: Store, engine: SpeakerEngine) -> None:
    # The first writer holds the version row until it commits; the second waits for it
    # instead of reading the same number (PostgreSQL row lock, SQLite's single writer).
    first_recorded = threading.Event()
    versions: list[int] = []

    def second() -> None:
        first_recorded.wait(10)
        with unit_of_work(store.sessions) as session:
            versions.append(GalleryChangeRepository(session).record("b" * 32, GalleryOp.ENROLL))

    worker = threading.Thread(target=second)
    worker.start()
    with unit_of_work(store.sessions) as session:
        versions.append(GalleryChangeRepository(session).record("a" * 32, GalleryOp.ENROLL))
        first_recorded.set()
        worker.join(0.5)  # give the second a chance to block on the row
    worker.join(30)
    assert sorted(versions) == [1, 2]
    with unit_of_work(store.sessions) as session:
        assert [c.version for c in GalleryChangeRepository(session).since(0)] == [1, 2]


def test_a_speaker_enrolled_through_one_worker_is_found_by_the_other(
    store: Store, engine: SpeakerEngine
) -> None:
    ids = [enroll(store, engine, seed) for seed in range(30)]
    one, other = GalleryCache(index_threshold=THRESHOLD), GalleryCache(index_threshold=THRESHOLD)
    seen = request(other, store, engine)
    assert len(request(one, store, engine)) == len(seen) == 30 and seen.approximate
    assert identified(seen, engine, 5) == ids[5]

    # Enrolled through the first worker (its request is what wrote it) ...
    newcomer = enroll(store, engine, 100, "newcomer")
    assert newcomer in request(one, store, engine)
    # ... and the other finds them on its very next request, by applying that one change to
    # the gallery it has (the same object: no rebuild).
    after = request(other, store, engine)
    assert after is seen and newcomer in after and len(after) == 31
    assert identified(after, engine, 100) == newcomer
    assert other.version == one.version == 31

    delete(store, ids[5])
    after = request(other, store, engine)
    assert after is seen and ids[5] not in after and len(after) == 30
    assert identified(after, engine, 5) != ids[5]
    assert request(other, store, engine) is seen  # nothing changed: nothing done


def test_the_index_is_persisted_and_a_restarted_worker_catches_up(
    store: Store, engine: SpeakerEngine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "index"
    ids = [enroll(store, engine, seed) for seed in range(40)]
    first = GalleryCache(folder, index_threshold=THRESHOLD)
    request(first, store, engine)
    (saved,) = folder.glob("gallery-*.sealed")
    assert saved.stat().st_size > 40 * 256 * 4
    assert b"speaker" not in saved.read_bytes()  # sealed: nothing readable in it

    # While no worker runs: three enrollments and a deletion.
    added = [enroll(store, engine, seed) for seed in (200, 201, 202)]
    delete(store, ids[0])

    restarted = GalleryCache(folder, index_threshold=THRESHOLD)
    with caplog.at_level(logging.INFO, logger="voxguard.services.gallery"):
        gallery = request(restarted, store, engine)
    assert "loaded at version 40" in caplog.text and "built" not in caplog.text
    expected = set(ids[1:]) | set(added)
    assert set(gallery.ids) == expected and restarted.version == 44
    rebuilt = request(GalleryCache(index_threshold=THRESHOLD), store, engine)
    assert set(rebuilt.ids) == expected
    for seed in (1, 17, 39, 200, 202):
        vector = voiceprint(engine, seed).vector
        for path in ("clean", "noisy", "phone", "short"):
            assert gallery.rank(vector, path, 3)[0] == pytest.approx(
                rebuilt.rank(vector, path, 3)[0]
            )


def test_a_damaged_or_foreign_index_file_is_rebuilt_from_the_store(
    store: Store, engine: SpeakerEngine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "index"
    for seed in range(25):
        enroll(store, engine, seed)
    request(GalleryCache(folder, index_threshold=THRESHOLD), store, engine)
    (saved,) = folder.glob("gallery-*.sealed")
    saved.write_bytes(saved.read_bytes()[:-100])
    with caplog.at_level(logging.INFO, logger="voxguard.services.gallery"):
        gallery = request(GalleryCache(folder, index_threshold=THRESHOLD), store, engine)
    assert "not loaded" in caplog.text and "built at version 25" in caplog.text
    assert len(gallery) == 25
    # Rewritten after the rebuild, it is good again.
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="voxguard.services.gallery"):
        assert len(request(GalleryCache(folder, index_threshold=THRESHOLD), store, engine)) == 25
    assert "loaded at version 25" in caplog.text


def test_the_index_file_is_rewritten_once_enough_changes_piled_up(
    store: Store, engine: SpeakerEngine, tmp_path: Path
) -> None:
    folder = tmp_path / "index"
    for seed in range(25):
        enroll(store, engine, seed)
    cache = GalleryCache(folder, index_threshold=THRESHOLD, save_every=3)
    request(cache, store, engine)
    (saved,) = folder.glob("gallery-*.sealed")

    def saved_version() -> int:
        return int(read_sealed(saved, store.cipher)[0]["version"])

    assert saved_version() == 25
    for seed in (300, 301):
        enroll(store, engine, seed)
    request(cache, store, engine)
    assert cache.version == 27 and saved_version() == 25  # two changes: not yet
    enroll(store, engine, 302)
    request(cache, store, engine)
    assert saved_version() == 28
