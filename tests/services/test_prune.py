"""Housekeeping on SQLite and PostgreSQL: each safety rule (queued and running jobs, the
active model, its rollback target, a retrain job's base, kept audio in use), a dry run that
changes nothing, files deleted only once the records committed, reruns that find nothing
left, and the kept-audio purge only when asked, audit-logged."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import make_settings
from tests.databases import BACKENDS, database_url
from tests.prune_data import (
    add_job,
    add_model,
    add_speaker,
    files_under,
    keep_recording,
    keep_recording_of_a_deleted_speaker,
    kept_file,
    make_old,
)
from voxguard.config import Settings
from voxguard.errors import (
    JobNotFound,
    JobResultsPruned,
    ModelVersionPruned,
    PruneRefused,
)
from voxguard.services.job_files import PRUNED_AT, job_dir
from voxguard.services.job_schemas import ResultsFormat
from voxguard.services.jobs import JobService
from voxguard.services.model_registry import ModelRegistry
from voxguard.services.prune import PruneService
from voxguard.services.prune_schemas import PruneOptions, PruneReport
from voxguard.store.audit import AuditRepository
from voxguard.store.blobs import BlobStore
from voxguard.store.db import unit_of_work
from voxguard.store.filters import JobFilter
from voxguard.store.jobs import JobRepository
from voxguard.store.model_versions import ModelVersionRepository
from voxguard.store.setup import Store, open_store
from voxguard.store.speaker_samples import SpeakerSampleRepository
from voxguard.store.speakers import SpeakerRepository


@pytest.fixture(params=BACKENDS)
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    with database_url(request.param, tmp_path) as url:
        yield make_settings(tmp_path, url)


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    opened = open_store(settings)
    yield opened
    opened.close()


def prune(store: Store, settings: Settings, **options: Any) -> PruneReport:
    with unit_of_work(store.sessions) as session:
        return PruneService(session, settings, "admin:test").prune(PruneOptions(**options))


def audit(store: Store) -> list[tuple[str, str, str | None]]:
    with unit_of_work(store.sessions) as session:
        return [(e.action, e.entity, e.entity_id) for e in AuditRepository(session).list()]


def status_of(store: Store, version: str) -> str:
    with unit_of_work(store.sessions) as session:
        row = ModelVersionRepository(session).find("spoof", version)
        assert row is not None
        return row.status


# --- jobs -------------------------------------------------------------------------------


def test_finished_jobs_past_the_retention_lose_their_files_not_their_records(
    store: Store, settings: Settings
) -> None:
    old = {s: add_job(store, settings, s) for s in ("succeeded", "failed", "cancelled")}
    recent = add_job(store, settings, ended_days_ago=5)
    queued = add_job(store, settings, "queued", ended_days_ago=None)
    running = add_job(store, settings, "running", ended_days_ago=None, heard_days_ago=0)
    # Cancelled while running, its worker not done yet (no end time, heard from just now).
    letting_go = add_job(store, settings, "cancelled", ended_days_ago=None, heard_days_ago=0)
    # Cancelled while running by a worker that died long ago: nothing will end it.
    abandoned = add_job(store, settings, "cancelled", ended_days_ago=None, heard_days_ago=40)

    report = prune(store, settings)

    pruned = {*old.values(), abandoned}
    assert {j.id for j in report.jobs.jobs} == pruned
    assert report.jobs.folders == 4 and report.jobs.records_deleted == 0
    assert report.jobs.retention_days == 30 and report.jobs.size_bytes > 0
    for job_id in pruned:
        assert not job_dir(settings, job_id).exists()
    for job_id in (recent, queued, running, letting_go):
        assert (job_dir(settings, job_id) / "results.jsonl").is_file()
        assert (job_dir(settings, job_id) / "input" / "a.wav").is_file()
    with unit_of_work(store.sessions) as session:
        service = JobService(session, settings)
        kept = service.get(old["succeeded"])
        assert kept.summary == {"files": 1, "ok": 1, "failed": 0} and kept.result_path is None
        assert PRUNED_AT in JobRepository(session).get(old["succeeded"]).params  # type: ignore[union-attr]
        with pytest.raises(JobResultsPruned) as gone:
            list(service.results(old["succeeded"], ResultsFormat.JSONL))
        assert gone.value.http_status == 410
        assert list(service.results(recent, ResultsFormat.JSONL))
    entries = audit(store)
    assert {e[2] for e in entries if e[:2] == ("prune", "job")} == pruned
    assert ("prune", "storage", None) in entries

    again = prune(store, settings)
    assert again.jobs.jobs == [] and again.size_bytes == 0


def test_job_records_go_only_when_asked(store: Store, settings: Settings) -> None:
    with_files = add_job(store, settings)
    retrain = add_job(store, settings, "failed", kind="retrain", folder=False)
    recent = add_job(store, settings, ended_days_ago=1)
    assert {j.id for j in prune(store, settings, dry_run=True).jobs.jobs} == {with_files}

    report = prune(store, settings, delete_job_records=True)

    assert {j.id for j in report.jobs.jobs} == {with_files, retrain}
    assert report.jobs.records_deleted == 2 and report.jobs.folders == 1
    with unit_of_work(store.sessions) as session:
        service = JobService(session, settings)
        for job_id in (with_files, retrain):
            with pytest.raises(JobNotFound):
                service.get(job_id)
        assert service.get(recent).status == "succeeded"
    assert not job_dir(settings, with_files).exists()
    assert ("prune", "job", retrain) in audit(store)


def test_folders_of_jobs_with_no_record_go_once_an_hour_untouched(
    store: Store, settings: Settings
) -> None:
    jobs_dir = settings.resolved_jobs_dir
    left = jobs_dir / ("a" * 32)
    (left / "input").mkdir(parents=True)
    (left / "input" / "x.wav").write_bytes(b"1" * 100)
    make_old(left)
    uploading = jobs_dir / ("b" * 32)  # an upload in flight: its record comes once it is in
    (uploading / "input").mkdir(parents=True)
    (uploading / "input" / "x.wav").write_bytes(b"1" * 100)
    make_old(uploading)
    (uploading / "input" / "y.wav").write_bytes(b"2" * 100)  # still being written
    other = jobs_dir / "notes"  # not a job's: never touched
    other.mkdir()
    make_old(other)

    report = prune(store, settings, older_than_days=0)

    assert report.jobs.orphan_folders == 1 and report.jobs.size_bytes == 100
    assert not left.exists() and uploading.is_dir() and other.is_dir()


def test_the_retention_comes_from_the_settings_or_the_run(store: Store, settings: Settings) -> None:
    settings = settings.model_copy(update={"job_retention_days": 3, "model_retention_days": 90})
    job = add_job(store, settings, ended_days_ago=5)
    add_model(store, settings, "m1", days=40)
    report = prune(store, settings, dry_run=True)
    assert (report.jobs.retention_days, report.models.retention_days) == (3, 90)
    assert [j.id for j in report.jobs.jobs] == [job] and report.models.removed == []
    report = prune(store, settings, dry_run=True, older_than_days=10)
    assert report.jobs.jobs == [] and [m.version for m in report.models.removed] == ["m1"]


# --- models -------------------------------------------------------------------------------


def test_model_folders_go_unless_active_rollback_target_a_base_or_recent(
    store: Store, settings: Settings
) -> None:
    folders = {
        "before": add_model(store, settings, "before", "retired"),
        "previous": add_model(store, settings, "previous", "retired", replaced="before"),
        "served": add_model(store, settings, "served", "active", replaced="previous"),
        "base": add_model(store, settings, "base", "candidate"),
        "new": add_model(store, settings, "new", "candidate", days=2),
        "promoted": add_model(store, settings, "promoted", "retired", promoted_days_ago=3),
        "rejected": add_model(store, settings, "rejected", "candidate"),
    }
    outside = settings.data_dir / "elsewhere"
    add_model(store, settings, "odd", "candidate", path="elsewhere")
    outside.mkdir()
    retrain = {"datasets": ["d"], "base": "base"}
    add_job(store, settings, "queued", None, kind="retrain", folder=False, params=retrain)
    sizes = {v: sum(p.stat().st_size for p in f.iterdir()) for v, f in folders.items()}

    report = prune(store, settings)

    removed = {m.version: m.status for m in report.models.removed}
    assert removed == {"before": "retired", "rejected": "candidate"}  # as they were
    reasons = {k.version: k.reason for k in report.models.kept}
    assert reasons["served"] == "active"
    assert reasons["previous"] == "the rollback target of the active version"
    assert reasons["base"].startswith("the base of retrain job")
    assert reasons["new"] == reasons["promoted"] == "created or promoted within 30 days"
    assert "left alone" in reasons["odd"] and outside.is_dir()
    assert report.models.size_bytes == sizes["before"] + sizes["rejected"]
    for version, folder in folders.items():
        assert folder.is_dir() == (version not in ("before", "rejected")), version
    assert status_of(store, "before") == status_of(store, "rejected") == "pruned"
    assert status_of(store, "previous") == "retired"
    assert ("prune", "model", "spoof/before") in audit(store)
    assert prune(store, settings).models.removed == []

    with unit_of_work(store.sessions) as session, pytest.raises(ModelVersionPruned):
        ModelRegistry(session, settings, "admin:test").promote("spoof", "rejected", force=True)
    with unit_of_work(store.sessions) as session, pytest.raises(ModelVersionPruned):
        ModelRegistry(session, settings, "admin:test").model_dir("spoof", "before")
    with unit_of_work(store.sessions) as session:
        listed = {m.version: m.status for m in ModelRegistry(session, settings).list()}
    assert listed["before"] == "pruned" and listed["bundled"] == "retired"


def test_a_rollback_to_a_pruned_version_is_refused(store: Store, settings: Settings) -> None:
    add_model(store, settings, "first", "retired")
    add_model(store, settings, "second", "retired", replaced="first")
    add_model(store, settings, "third", "active", replaced="second")
    prune(store, settings)  # "first" goes: neither active nor the rollback target
    assert status_of(store, "first") == "pruned"
    with unit_of_work(store.sessions) as session:
        assert ModelRegistry(session, settings, "admin:test").rollback("spoof").version == "second"
    with unit_of_work(store.sessions) as session, pytest.raises(ModelVersionPruned):
        ModelRegistry(session, settings, "admin:test").rollback("spoof")
    assert status_of(store, "second") == "active"


# --- kept enrollment recordings ---------------------------------------------------------


def test_orphaned_kept_recordings_are_swept(store: Store, settings: Settings) -> None:
    alice = add_speaker(store, "Alice")
    kept = keep_recording(store, settings, alice, b"alice" * 100)
    old_orphan = kept_file(settings, b"orphan" * 100)
    young_orphan = kept_file(settings, b"in flight" * 100)
    files = BlobStore(settings.speaker_samples_dir)
    make_old(files.path(old_orphan).parent)
    make_old(files.path(kept).parent)
    gone = keep_recording_of_a_deleted_speaker(store, settings, b"gone" * 100)

    report = prune(store, settings)

    audio = report.kept_audio
    assert (audio.orphan_files, audio.orphan_rows, audio.purged_recordings) == (1, 1, 0)
    assert audio.recordings == 2 and audio.size_bytes > 0
    assert not files.path(old_orphan).exists() and not files.path(gone).exists()
    assert files.path(kept).is_file() and files.path(young_orphan).is_file()
    with unit_of_work(store.sessions) as session:
        assert SpeakerSampleRepository(session).all_hashes() == {kept}


def test_kept_audio_is_purged_only_when_asked_and_only_while_not_kept(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    alice, bob = add_speaker(store, "Alice"), add_speaker(store, "Bob")
    hashes = [
        keep_recording(store, settings, alice, b"a1" * 100),
        keep_recording(store, settings, alice, b"a2" * 100),
        keep_recording(store, settings, bob, b"b1" * 100),
    ]
    files = BlobStore(settings.speaker_samples_dir)

    report = prune(store, settings, older_than_days=0)
    assert report.kept_audio.recordings == 3 and report.kept_audio.purged_recordings == 0
    assert all(files.path(h).is_file() for h in hashes)

    keeping = settings.model_copy(update={"keep_enrollment_audio": True})
    with pytest.raises(PruneRefused, match="VOXGUARD_KEEP_ENROLLMENT_AUDIO is on") as refused:
        prune(store, keeping, purge_kept_audio=True, dry_run=True)
    assert refused.value.http_status == 409 and refused.value.exit_code == 5
    reembed = add_job(
        store, settings, "running", None, kind="reembed", folder=False, heard_days_ago=0
    )
    with pytest.raises(PruneRefused, match=f"Re-embedding job {reembed} is running"):
        prune(store, settings, purge_kept_audio=True)
    with unit_of_work(store.sessions) as session:
        JobRepository(session).transition(reembed, ("running",), status="succeeded")

    dry = prune(store, settings, purge_kept_audio=True, dry_run=True)
    assert (dry.kept_audio.purged_recordings, dry.kept_audio.purged_speakers) == (3, 2)
    assert all(files.path(h).is_file() for h in hashes)

    purged = prune(store, settings, purge_kept_audio=True)
    assert purged.kept_audio.purged_recordings == 3 and purged.kept_audio.size_bytes > 0
    assert not any(files.path(h).exists() for h in hashes)
    with unit_of_work(store.sessions) as session:
        assert SpeakerSampleRepository(session).all_hashes() == set()
        assert SpeakerRepository(session).get(alice) is not None  # the speakers stay
    entries = audit(store)
    assert ("purge_audio", "speaker", alice) in entries
    assert ("purge_audio", "speaker", bob) in entries


# --- dry run, commit, rerun ----------------------------------------------------------------


def _everything(store: Store, settings: Settings) -> None:
    add_job(store, settings)
    add_job(store, settings, "failed", kind="retrain", folder=False)
    add_model(store, settings, "old", "candidate")
    add_model(store, settings, "served", "active")
    alice = add_speaker(store, "Alice")
    keep_recording(store, settings, alice, b"alice" * 100)
    make_old(BlobStore(settings.speaker_samples_dir).path(kept_file(settings, b"x" * 99)))


def _state(store: Store, settings: Settings) -> tuple[Any, ...]:
    with unit_of_work(store.sessions) as session:
        rows = JobRepository(session).list(JobFilter(limit=500))
        jobs = sorted((j.id, j.result_path, str(j.params)) for j in rows)
        models = sorted((m.version, m.status) for m in ModelVersionRepository(session).list())
        samples = SpeakerSampleRepository(session).all_hashes()
        entries = len(AuditRepository(session).list(limit=1000))
    return jobs, models, samples, entries, files_under(settings.data_dir)


def test_a_dry_run_changes_nothing(store: Store, settings: Settings) -> None:
    _everything(store, settings)
    before = _state(store, settings)
    report = prune(store, settings, dry_run=True, delete_job_records=True, purge_kept_audio=True)
    assert report.dry_run and report.size_bytes > 0
    assert report.jobs.records_deleted == 2 and len(report.models.removed) == 1
    assert report.kept_audio.orphan_files == 1 and report.kept_audio.purged_recordings == 1
    assert _state(store, settings) == before


def test_files_go_only_once_the_records_commit(store: Store, settings: Settings) -> None:
    _everything(store, settings)
    before = _state(store, settings)
    with pytest.raises(RuntimeError), unit_of_work(store.sessions) as session:
        PruneService(session, settings, "admin:test").prune(
            PruneOptions(delete_job_records=True, purge_kept_audio=True)
        )
        raise RuntimeError("the commit does not happen")
    assert _state(store, settings) == before


def test_a_second_run_finds_nothing_left(store: Store, settings: Settings) -> None:
    _everything(store, settings)
    first = prune(store, settings, delete_job_records=True, purge_kept_audio=True)
    assert first.size_bytes > 0
    after = _state(store, settings)
    second = prune(store, settings, delete_job_records=True, purge_kept_audio=True)
    assert second.size_bytes == 0 and second.jobs.jobs == [] and second.models.removed == []
    assert second.kept_audio.orphan_files == second.kept_audio.purged_recordings == 0
    assert _state(store, settings)[:3] == after[:3]
    assert _state(store, settings)[4] == after[4]


def test_files_a_run_could_not_delete_go_on_the_next(
    store: Store, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = add_job(store, settings)
    folder = add_model(store, settings, "old", "candidate")
    monkeypatch.setattr("voxguard.services.prune.shutil.rmtree", _fail)
    prune(store, settings)
    assert job_dir(settings, job).is_dir() and folder.is_dir()  # logged, left
    assert status_of(store, "old") == "pruned"
    monkeypatch.undo()
    report = prune(store, settings)
    assert [j.id for j in report.jobs.jobs] == [job]
    assert [(m.version, m.status) for m in report.models.removed] == [("old", "pruned")]
    assert not job_dir(settings, job).exists() and not folder.exists()


def _fail(path: Any, *args: Any, **kwargs: Any) -> None:
    raise PermissionError(f"cannot delete {path}")
