"""Kept enrollment recordings and the ``reembed`` job, with real components: the store on
SQLite and PostgreSQL, an embedded Huey queue with its consumer in a thread, and a speaker
model "upgraded" between enrollment and the job (a test engine with another version and
another embedding space)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy.orm import Session

from tests.api.audio import speaker_halves
from tests.api.conftest import make_settings
from tests.databases import BACKENDS, database_url
from tests.doubles import SpectralTestEngine, UpgradedSpectralEngine
from tests.jobs import consuming, wait_for
from voxguard.config import Settings
from voxguard.errors import Conflict, ModelMismatch
from voxguard.services.audio_input import AudioInput
from voxguard.services.engines import Loaded
from voxguard.services.job_queue import JobQueue
from voxguard.services.job_schemas import JobKind
from voxguard.services.recognition import RecognitionService
from voxguard.services.reembed import reembed_speakers, submit_reembed
from voxguard.services.runtime import Runtime, build_runtime
from voxguard.services.speaker_samples import ORPHAN_GRACE_S, SpeakerSamples
from voxguard.services.speakers import EnrollmentService, SpeakerDirectory
from voxguard.speaker.types import Voiceprint
from voxguard.store.audit import AuditRepository
from voxguard.store.db import unit_of_work
from voxguard.store.speaker_samples import SpeakerSampleRepository
from voxguard.store.speakers import SpeakerRepository

OLD, NEW = SpectralTestEngine.model_version, UpgradedSpectralEngine.model_version


@pytest.fixture(params=BACKENDS)
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    with database_url(request.param, tmp_path) as url:
        yield make_settings(tmp_path, url, keep_enrollment_audio=True)


def _runtime(settings: Settings, engine: SpectralTestEngine, keep: bool = True) -> Runtime:
    current = settings.model_copy(update={"keep_enrollment_audio": keep})
    return build_runtime(current, speaker=Loaded(engine), spoof=Loaded(None, "not in test"))


def _enroll(runtime: Runtime, name: str, *recordings: bytes) -> str:
    inputs = [AudioInput(f"{name}{i}.wav", data) for i, data in enumerate(recordings)]
    with unit_of_work(runtime.store.sessions) as session:
        return EnrollmentService(runtime, session, "operator:test").enroll(name, inputs).speaker.id


def _add(runtime: Runtime, speaker_id: str, data: bytes) -> None:
    with unit_of_work(runtime.store.sessions) as session:
        EnrollmentService(runtime, session, "operator:test").add_samples(
            speaker_id, [AudioInput("more.wav", data)]
        )


def _files(settings: Settings) -> list[Path]:
    blobs = settings.speaker_samples_dir / "blobs"
    return sorted(p for p in blobs.glob("*/*") if p.is_file())


def _voiceprint(runtime: Runtime, speaker_id: str, version: str) -> Voiceprint | None:
    with unit_of_work(runtime.store.sessions) as session:
        row = SpeakerRepository(session).voiceprint(speaker_id, version)
        if row is None:
            return None
        return Voiceprint.from_bytes(runtime.store.cipher.decrypt(row.ciphertext))


def _stale(runtime: Runtime, version: str) -> list[str]:
    with unit_of_work(runtime.store.sessions) as session:
        page = SpeakerDirectory(session, "reader:test").list(stale_for=version)
    return [s.display_name for s in page.items]


def test_kept_recordings_re_embed_a_speaker_after_a_model_change(settings: Settings) -> None:
    alice_a, alice_b = speaker_halves(0)
    bob_a, _ = speaker_halves(1)
    carol_a, carol_b = speaker_halves(2)

    old_off = _runtime(settings, SpectralTestEngine(), keep=False)
    try:
        bob = _enroll(old_off, "Bob", bob_a)
        carol = _enroll(old_off, "Carol", carol_a)
    finally:
        old_off.close()
    assert _files(settings) == []  # off (the default): nothing kept

    old = _runtime(settings, SpectralTestEngine())
    try:
        with unit_of_work(old.store.sessions) as session:
            enrolled = EnrollmentService(old, session, "operator:test").enroll(
                "Alice", [AudioInput("alice.wav", alice_a)]
            )
        assert enrolled.recordings_kept == 1
        alice = enrolled.speaker.id
        _add(old, carol, carol_b)  # Carol: 1 of her 2 recordings kept
        # Kept encrypted: no stretch of the recording is in the files, yet it reads back whole.
        files = _files(settings)
        assert len(files) == 2
        for path in files:
            data = path.read_bytes()
            assert alice_a[2000:2064] not in data and carol_b[2000:2064] not in data
            assert os.stat(path).st_mode & 0o077 == 0
        with unit_of_work(old.store.sessions) as session:
            samples = SpeakerSamples(session, old.settings, old.store.cipher)
            (row,) = samples.kept(alice)
            assert samples.read(row).data == alice_a
            assert (row.filename, row.size_bytes) == ("alice.wav", len(alice_a))
            assert row.duration_s > 1
    finally:
        old.close()

    new = _runtime(settings, UpgradedSpectralEngine())
    queue = JobQueue(new.settings)
    try:
        assert _stale(new, NEW) == ["Bob", "Carol", "Alice"]
        job = submit_reembed(new, queue, "admin:test")
        assert (job.kind, job.progress.total) == (JobKind.REEMBED, 3)
        with pytest.raises(Conflict):  # one at a time
            submit_reembed(new, queue, "admin:test")
        with consuming(new, queue):
            done = wait_for(new, job.id, "succeeded", "failed")
        assert done.status == "succeeded", done.error
        summary = done.summary
        assert summary is not None
        assert (summary["reembedded"], summary["must_reenroll"], summary["failed"]) == (1, 2, 0)
        assert summary["model_version"] == NEW
        assert summary["reembedded_speakers"] == [{"id": alice, "name": "Alice"}]
        reasons = {s["name"]: s["reason"] for s in summary["must_reenroll_speakers"]}
        assert {s["id"] for s in summary["must_reenroll_speakers"]} == {bob, carol}
        assert "no enrollment recording kept" in reasons["Bob"]
        assert "1 of the 2 enrollment recordings kept" in reasons["Carol"]
        assert (done.progress.done, done.progress.total) == (3, 3)

        # Alice: a voiceprint of the new model beside the old one, no longer stale, and
        # identified by the new model.
        assert _stale(new, NEW) == ["Bob", "Carol"]
        rebuilt = _voiceprint(new, alice, NEW)
        assert rebuilt is not None and rebuilt.n_samples == 1
        assert _voiceprint(new, alice, OLD) is not None
        with unit_of_work(new.store.sessions) as session:
            found = RecognitionService(new, session, "operator:test").identify(
                AudioInput("probe.wav", alice_b)
            )
            actions = [e.action for e in AuditRepository(session).list(entity_id=alice)]
            assert actions[0] == "reembed"
            created = AuditRepository(session).list(entity_id=job.id)
            assert created[0].action == "create" and created[0].detail["speakers"] == 3
        assert found.best is not None and found.best.speaker_id == alice

        # Safe to run again: nothing re-done, the same lists.
        again = submit_reembed(new, queue, "admin:test")
        assert again.progress.total == 2
        with consuming(new, queue):
            second = wait_for(new, again.id, "succeeded", "failed")
        assert second.summary is not None and second.summary["reembedded"] == 0
        assert second.summary["must_reenroll"] == 2
        after = _voiceprint(new, alice, NEW)
        assert after is not None
        np.testing.assert_array_equal(after.vector, rebuilt.vector)

        # Deleting a speaker removes their recordings: rows now, files once committed.
        alice_files = set(_files(settings)) - set(_carol_files(new, carol))
        assert len(alice_files) == 1
        with unit_of_work(new.store.sessions) as session:
            SpeakerDirectory(session, "admin:test", new.settings).delete(alice)
            assert next(iter(alice_files)).exists()  # not before the commit
        assert _files(settings) == _carol_files(new, carol)
        with unit_of_work(new.store.sessions) as session:
            assert SpeakerSampleRepository(session).for_speaker(alice) == []
    finally:
        queue.close()
        new.close()


def _carol_files(runtime: Runtime, carol: str) -> list[Path]:
    with unit_of_work(runtime.store.sessions) as session:
        samples = SpeakerSamples(session, runtime.settings, runtime.store.cipher)
        return sorted(samples.blobs.path(row.sha256) for row in samples.kept(carol))


class _Stop(Exception):
    pass


def test_a_stopped_run_resumes_and_carries_over_what_it_did(settings: Settings) -> None:
    old = _runtime(settings, SpectralTestEngine())
    try:
        first = _enroll(old, "First", speaker_halves(0)[0])
        second = _enroll(old, "Second", speaker_halves(1)[0])
    finally:
        old.close()
    new = _runtime(settings, UpgradedSpectralEngine())
    reports: list[dict[str, Any]] = []

    def stop_after_one(_session: Session, summary: dict[str, Any], *_counts: int) -> None:
        if summary["reembedded"] == 2:
            raise _Stop  # rolls back the second speaker's work with this report
        reports.append(summary)

    try:
        with pytest.raises(_Stop):
            reembed_speakers(new, "job-1", "admin:test", NEW, stop_after_one)
        assert _stale(new, NEW) == ["Second"]
        previous = reports[-1]
        assert previous["reembedded_speakers"] == [{"id": first, "name": "First"}]

        def keep(_session: Session, summary: dict[str, Any], *_counts: int) -> None:
            reports.append(summary)

        summary = reembed_speakers(new, "job-1", "admin:test", NEW, keep, previous=previous)
        assert summary["speakers"] == 2 and summary["reembedded"] == 2
        assert [s["id"] for s in summary["reembedded_speakers"]] == [first, second]
        assert _stale(new, NEW) == []
        with pytest.raises(ModelMismatch):  # a worker with another model refuses
            reembed_speakers(new, "job-2", "admin:test", "some-other-model", keep)
    finally:
        new.close()


def test_unreadable_recordings_fail_the_speaker_and_orphans_are_swept(
    settings: Settings,
) -> None:
    old = _runtime(settings, SpectralTestEngine())
    try:
        damaged = _enroll(old, "Damaged", speaker_halves(0)[0])
        fine = _enroll(old, "Fine", speaker_halves(1)[0])
    finally:
        old.close()
    new = _runtime(settings, UpgradedSpectralEngine())
    try:
        with unit_of_work(new.store.sessions) as session:
            samples = SpeakerSamples(session, new.settings, new.store.cipher)
            (row,) = samples.kept(damaged)
            path = samples.blobs.path(row.sha256)
        path.write_bytes(path.read_bytes()[:-10])
        orphan = path.parent / ("f" * 64)
        orphan.write_bytes(b"left by a failed commit")
        old_enough = time.time() - ORPHAN_GRACE_S - 60
        os.utime(orphan, (old_enough, old_enough))

        summary = reembed_speakers(new, "job-1", "admin:test", NEW, lambda *_: None)
        assert summary["reembedded_speakers"] == [{"id": fine, "name": "Fine"}]
        (failed,) = summary["failed_speakers"]
        assert failed["id"] == damaged and "damaged" in failed["reason"]
        assert summary["orphan_files_removed"] == 1 and not orphan.exists()
        assert _stale(new, NEW) == ["Damaged"]
    finally:
        new.close()
