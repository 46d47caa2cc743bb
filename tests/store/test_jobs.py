"""The jobs repository on SQLite and PostgreSQL: the migration, and status changes that race."""

from __future__ import annotations

from datetime import timedelta

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from voxguard.store.db import unit_of_work
from voxguard.store.filters import JobFilter
from voxguard.store.jobs import JobRepository
from voxguard.store.models import Base, Job, utcnow
from voxguard.store.setup import Store


def _add(store: Store, **values: object) -> str:
    with unit_of_work(store.sessions) as session:
        fields: dict[str, object] = {"kind": "detect", "created_by": "key:ops", "files_total": 3}
        return JobRepository(session).add(Job(**(fields | values))).id


def _job(store: Store, job_id: str) -> Job:
    with unit_of_work(store.sessions) as session:
        job = JobRepository(session).get(job_id)
        assert job is not None
        return job


def test_migration_0002_creates_the_jobs_table_as_modelled(store: Store) -> None:
    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection)
        diff = compare_metadata(context, Base.metadata)
    assert [d for d in diff if "jobs" in repr(d)] == []


def test_claim_once_progress_and_finish(store: Store) -> None:
    job_id = _add(store)
    created = _job(store, job_id)
    assert (created.status, created.attempts, created.params) == ("queued", 0, {})
    assert created.created_at.tzinfo is not None and created.summary is None

    now = utcnow()
    with unit_of_work(store.sessions) as session:
        repo = JobRepository(session)
        assert repo.claim(job_id, "host:1:a", now)
        assert not repo.claim(job_id, "host:2:b", now)  # the second worker loses
    claimed = _job(store, job_id)
    assert (claimed.status, claimed.worker, claimed.attempts) == ("running", "host:1:a", 1)
    assert claimed.started_at is not None

    with unit_of_work(store.sessions) as session:
        repo = JobRepository(session)
        assert repo.progress(job_id, "host:1:a", 2, 1, now) == "running"
        assert repo.progress(job_id, "host:2:b", 3, 0, now) is None  # not that worker's
        assert repo.finish(job_id, "host:1:a", "succeeded", finished_at=now, summary={"files": 3})
    done = _job(store, job_id)
    assert (done.status, done.files_done, done.files_failed) == ("succeeded", 2, 1)
    assert done.summary == {"files": 3} and done.finished_at is not None


def test_a_cancel_during_the_last_file_wins_over_success(store: Store) -> None:
    job_id = _add(store)
    with unit_of_work(store.sessions) as session:
        repo = JobRepository(session)
        repo.claim(job_id, "host:1:a", utcnow())
        assert repo.transition(job_id, ("running",), status="cancelled")
        assert repo.finish(job_id, "host:1:a", "succeeded", finished_at=utcnow())
    assert _job(store, job_id).status == "cancelled"


def test_queued_again_keeps_the_first_start(store: Store) -> None:
    job_id = _add(store)
    first = utcnow() - timedelta(minutes=5)
    with unit_of_work(store.sessions) as session:
        repo = JobRepository(session)
        repo.claim(job_id, "host:1:a", first)
        assert repo.transition(job_id, ("running",), "host:1:a", status="queued", worker=None)
        assert not repo.transition(job_id, ("running",), "host:1:a", status="queued")
        repo.claim(job_id, "host:2:b", utcnow())
    again = _job(store, job_id)
    assert again.attempts == 2 and again.worker == "host:2:b"
    assert abs((again.started_at - first).total_seconds()) < 1  # type: ignore[operator]


def test_list_filters_count_and_running(store: Store) -> None:
    ids = [_add(store, kind=kind) for kind in ("detect", "detect", "analyze")]
    with unit_of_work(store.sessions) as session:
        repo = JobRepository(session)
        repo.claim(ids[1], "host:1:a", utcnow())
    with unit_of_work(store.sessions) as session:
        repo = JobRepository(session)
        assert [j.id for j in repo.list(JobFilter())] == ids[::-1]  # newest first
        assert [j.id for j in repo.list(JobFilter(status="running"))] == [ids[1]]
        assert [j.id for j in repo.list(JobFilter(kind="analyze"))] == [ids[2]]
        assert repo.count(JobFilter(kind="detect", limit=1)) == 2
        assert [j.id for j in repo.list(JobFilter(limit=1, offset=1))] == [ids[1]]
        assert [j.id for j in repo.running()] == [ids[1]]
