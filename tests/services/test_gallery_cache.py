"""The per-process gallery kept in step with the store: the version and change log written with
each enrollment and deletion, two caches on one database standing for two workers, the index
persisted under the data directory, loaded by a restarted worker and caught up, built and
written by one of the workers that start together, and the change log pruned. Both database
backends; the real speaker engine on synthetic voiceprints."""

from __future__ import annotations

import logging
import multiprocessing
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from cryptography.fernet import Fernet

from tests.databases import BACKENDS, database_url
from voxguard.config import Settings
from voxguard.services.gallery import LOCK_NAME, GalleryCache
from voxguard.speaker.engine import SpeakerEngine
from voxguard.speaker.gallery import SpeakerGallery
from voxguard.speaker.index import INDEX_THRESHOLD
from voxguard.speaker.scoring import unit_rows
from voxguard.speaker.types import Embedding, Voiceprint
from voxguard.store.db import unit_of_work
from voxguard.store.gallery_changes import GalleryChangeRepository, GalleryOp
from voxguard.store.locks import FileLock
from voxguard.store.models import Speaker
from voxguard.store.sealed import read_sealed
from voxguard.store.setup import Store, open_store
from voxguard.store.speakers import SpeakerRepository

THRESHOLD = 20  # low, so that 30-odd speakers already go through the approximate index


@pytest.fixture(scope="module")
def engine() -> SpeakerEngine:
    return SpeakerEngine()


@pytest.fixture(params=BACKENDS)
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    with database_url(request.param, tmp_path) as url:
        yield Settings(
            data_dir=tmp_path / "data", database_url=url, encryption_key=Fernet.generate_key()
        )


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    opened = open_store(settings)
    yield opened
    opened.close()


def voiceprint(engine: SpeakerEngine, seed: int) -> Voiceprint:
    rng = np.random.default_rng(seed)
    rows = rng.standard_normal((1, engine.embedding_size)).astype(np.float32)
    vector = np.abs(unit_rows(rows)[0])
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


def logged_versions(store: Store) -> list[int]:
    with unit_of_work(store.sessions) as session:
        return [change.version for change in GalleryChangeRepository(session).since(0)]


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
    assert saved.stat().st_size > 40 * engine.embedding_size * 4
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
            # Equal up to float32 rounding: the loaded index and the rebuilt one sum in
            # another order (1.5e-6 relative seen on one machine).
            (got_id, *got), (want_id, *want) = (
                gallery.rank(vector, path, 3)[0],
                rebuilt.rank(vector, path, 3)[0],
            )
            assert got_id == want_id and got == pytest.approx(want, rel=1e-5)


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


class SlowToBuild(SpeakerEngine):
    """Builds that take seconds, as a large gallery's take minutes: long enough for a second
    worker to arrive while the first one builds."""

    def build_gallery(
        self, batches: Iterable[Mapping[str, Voiceprint]], index_threshold: int = INDEX_THRESHOLD
    ) -> SpeakerGallery:
        time.sleep(3)
        return super().build_gallery(batches, index_threshold)


class Collected(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _start_worker(settings: Settings, folder: Path, barrier: Any) -> tuple[int, list[str]]:
    """One API worker's start, in a process of its own: its gallery's size and its log."""
    collected = Collected()
    logger = logging.getLogger("voxguard.services.gallery")
    logger.setLevel(logging.INFO)
    logger.addHandler(collected)
    store = open_store(settings)
    try:
        engine, cache = SlowToBuild(), GalleryCache(folder, index_threshold=THRESHOLD)
        barrier.wait(60)
        return len(request(cache, store, engine)), collected.messages
    finally:
        store.close()


def test_workers_starting_together_build_and_write_the_index_once(
    settings: Settings, store: Store, engine: SpeakerEngine, tmp_path: Path
) -> None:
    for seed in range(30):
        enroll(store, engine, seed)
    folder = tmp_path / "index"
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        barrier = manager.Barrier(2)
        with ProcessPoolExecutor(2, mp_context=context) as pool:
            starts = [pool.submit(_start_worker, settings, folder, barrier) for _ in range(2)]
            results = [start.result(timeout=240) for start in starts]
    assert [size for size, _ in results] == [30, 30]
    waited, built = sorted(("\n".join(log) for _, log in results), key=lambda t: "built" in t)
    assert "built at version 30" in built and "saved at version 30" in built
    # The other found no file, waited for the lock, then loaded what the first one wrote.
    assert "another process is building" in waited and "loaded at version 30" in waited
    assert "built" not in waited and "saved" not in waited
    assert sorted(p.name for p in folder.iterdir()) == [
        f"gallery-{engine.model_version}.sealed",
        "gallery.lock",
    ]


def test_a_worker_waiting_for_the_lock_starts_from_the_copy_written_meanwhile(
    store: Store, engine: SpeakerEngine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "index"
    for seed in range(30):
        enroll(store, engine, seed)
    builder = FileLock(folder / LOCK_NAME)  # another process, building
    builder.acquire()
    waiting = GalleryCache(folder, index_threshold=THRESHOLD)
    caplog.set_level(logging.INFO, logger="voxguard.services.gallery")
    worker = threading.Thread(target=request, args=(waiting, store, engine))
    worker.start()
    deadline = time.monotonic() + 30
    while "another process is building" not in caplog.text and time.monotonic() < deadline:
        time.sleep(0.05)
    # While it waits, a speaker is enrolled, and the builder writes a copy that has them.
    enroll(store, engine, 100)
    elsewhere = tmp_path / "elsewhere"
    request(GalleryCache(elsewhere, index_threshold=THRESHOLD), store, engine)
    (written,) = elsewhere.glob("gallery-*.sealed")
    written.replace(folder / written.name)
    caplog.clear()
    builder.release()
    worker.join(30)
    assert "loaded at version 31" in caplog.text and "built" not in caplog.text
    assert waiting.version == 31


def test_a_copy_another_worker_has_just_written_is_not_written_again(
    store: Store, engine: SpeakerEngine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "index"
    for seed in range(25):
        enroll(store, engine, seed)
    one = GalleryCache(folder, index_threshold=THRESHOLD, save_every=3)
    other = GalleryCache(folder, index_threshold=THRESHOLD, save_every=3)
    request(one, store, engine)
    request(other, store, engine)  # loads what the first wrote
    for seed in (300, 301, 302):
        enroll(store, engine, seed)
    request(one, store, engine)
    (saved,) = folder.glob("gallery-*.sealed")
    written = saved.stat().st_mtime_ns
    with caplog.at_level(logging.INFO, logger="voxguard.services.gallery"):
        assert len(request(other, store, engine)) == 28
    assert "saved" not in caplog.text and saved.stat().st_mtime_ns == written
    assert int(read_sealed(saved, store.cipher)[0]["version"]) == 28


def test_pruning_drops_the_old_end_of_the_change_log(store: Store, engine: SpeakerEngine) -> None:
    for seed in range(6):
        enroll(store, engine, seed)
    with unit_of_work(store.sessions) as session:
        changes = GalleryChangeRepository(session)
        assert changes.prune(4) == 4 and changes.prune(4) == 0
        assert changes.state().version == 6
    assert logged_versions(store) == [5, 6]
    enroll(store, engine, 7)  # numbering goes on from the version, not from the log
    assert logged_versions(store) == [5, 6, 7]


def test_a_worker_behind_the_pruned_log_rebuilds_and_finds_every_speaker(
    store: Store, engine: SpeakerEngine, caplog: pytest.LogCaptureFixture
) -> None:
    ids = [enroll(store, engine, seed) for seed in range(30)]
    behind = GalleryCache(index_threshold=THRESHOLD)
    assert len(request(behind, store, engine)) == 30
    pruner = GalleryCache(index_threshold=THRESHOLD, change_retention=5, prune_every=10)
    request(pruner, store, engine)
    assert logged_versions(store) == list(range(26, 31))

    # While the first worker is idle: twelve enrollments and two deletions, then a prune
    # that leaves only the last five of them in the log.
    added = [enroll(store, engine, seed) for seed in range(100, 112)]
    delete(store, ids[3])
    delete(store, ids[4])
    request(pruner, store, engine)
    assert logged_versions(store) == list(range(40, 45))

    with caplog.at_level(logging.INFO, logger="voxguard.services.gallery"):
        gallery = request(behind, store, engine)
    assert set(gallery.ids) == (set(ids) - {ids[3], ids[4]}) | set(added)
    assert "after version 30 were pruned" in caplog.text and "built at version 44" in caplog.text
    assert behind.version == 44
    for seed, speaker_id in [(0, ids[0]), (29, ids[29]), (100, added[0]), (111, added[11])]:
        assert identified(gallery, engine, seed) == speaker_id
    assert ids[3] not in gallery


def test_a_saved_index_older_than_the_pruned_log_is_rebuilt_and_saved_again(
    store: Store, engine: SpeakerEngine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "index"
    for seed in range(25):
        enroll(store, engine, seed)
    request(GalleryCache(folder, index_threshold=THRESHOLD), store, engine)
    (saved,) = folder.glob("gallery-*.sealed")
    for seed in range(200, 210):
        enroll(store, engine, seed)
    pruner = GalleryCache(index_threshold=THRESHOLD, change_retention=3, prune_every=1)
    request(pruner, store, engine)
    assert logged_versions(store) == [33, 34, 35]
    leftover = folder / f".{saved.name}.killed.tmp"  # a save killed half-way
    leftover.write_bytes(b"partial")

    with caplog.at_level(logging.INFO, logger="voxguard.services.gallery"):
        gallery = request(GalleryCache(folder, index_threshold=THRESHOLD), store, engine)
    assert "loaded at version 25" in caplog.text and "after version 25 were pruned" in caplog.text
    assert "built at version 35" in caplog.text and "saved at version 35" in caplog.text
    assert len(gallery) == 35 and not leftover.exists()


def test_pruning_keeps_the_changes_the_saved_index_still_needs(
    store: Store, engine: SpeakerEngine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "index"
    for seed in range(25):
        enroll(store, engine, seed)
    cache = GalleryCache(folder, index_threshold=THRESHOLD, change_retention=2, prune_every=1)
    request(cache, store, engine)  # saved at 25
    assert logged_versions(store) == [24, 25]
    for seed in range(200, 205):
        enroll(store, engine, seed)
    request(cache, store, engine)  # not saved again yet (1,000 changes); 26-30 are kept
    assert logged_versions(store) == [26, 27, 28, 29, 30]
    with caplog.at_level(logging.INFO, logger="voxguard.services.gallery"):
        restarted = request(GalleryCache(folder, index_threshold=THRESHOLD), store, engine)
    assert "loaded at version 25" in caplog.text and "built" not in caplog.text
    assert len(restarted) == 30
