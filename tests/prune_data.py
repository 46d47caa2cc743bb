"""Housekeeping test data: job records with their folders, registry rows with their model
folders, and kept enrollment recordings, each as old as a test needs."""

from __future__ import annotations

import json
import os
import time
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import text

from voxguard.config import Settings
from voxguard.services.job_files import RESULTS, input_dir, job_dir
from voxguard.services.model_registry import version_dir
from voxguard.store.blobs import BlobStore
from voxguard.store.db import unit_of_work
from voxguard.store.jobs import JobRepository
from voxguard.store.model_versions import ModelVersionRepository
from voxguard.store.models import Job, ModelVersion, Speaker, SpeakerSample, new_id, utcnow
from voxguard.store.setup import Store
from voxguard.store.speaker_samples import SpeakerSampleRepository
from voxguard.store.speakers import SpeakerRepository

RESULT_LINE = {"file": "a.wav", "status": "ok", "spoof_probability": 0.1}


def days_ago(days: float) -> datetime:
    return utcnow() - timedelta(days=days)


def add_job(
    store: Store,
    settings: Settings,
    status: str = "succeeded",
    ended_days_ago: float | None = 40,
    kind: str = "detect",
    folder: bool = True,
    heard_days_ago: float | None = None,
    params: dict[str, object] | None = None,
) -> str:
    """A job record (``ended_days_ago`` None: no end time yet) and, with ``folder``, its
    results and one kept input."""
    job_id = new_id()
    ended = None if ended_days_ago is None else days_ago(ended_days_ago)
    heard = None if heard_days_ago is None else days_ago(heard_days_ago)
    created = min(t for t in (ended, heard, utcnow()) if t is not None) - timedelta(hours=1)
    with unit_of_work(store.sessions) as session:
        JobRepository(session).add(
            Job(
                id=job_id,
                kind=kind,
                status=status,
                created_by="key:ops",
                created_at=created,
                started_at=created,
                finished_at=ended,
                heartbeat_at=heard,
                worker="host:1:token" if heard else None,
                files_total=1,
                files_done=1,
                params=params if params is not None else {"source": "files"},
                summary={"files": 1, "ok": 1, "failed": 0},
                result_path=f"{job_id}/{RESULTS}" if folder else None,
            )
        )
    if folder:
        input_dir(settings, job_id).mkdir(parents=True)
        (input_dir(settings, job_id) / "a.wav").write_bytes(b"RIFF" + b"\0" * 996)
        (job_dir(settings, job_id) / RESULTS).write_text(json.dumps(RESULT_LINE) + "\n")
    return job_id


def add_model(
    store: Store,
    settings: Settings,
    version: str,
    status: str = "retired",
    days: float = 40,
    replaced: str | None = None,
    promoted_days_ago: float | None = None,
    path: str | None = None,
) -> Path:
    """A registry row of the spoof kind and a folder with a (fake) model file in it."""
    folder = version_dir(settings, "spoof", version)
    folder.mkdir(parents=True)
    (folder / "spoof_detector.onnx").write_bytes(b"\0" * 2000)
    (folder / "spoof_detector.json").write_text(json.dumps({"version": version}))
    with unit_of_work(store.sessions) as session:
        ModelVersionRepository(session).add(
            ModelVersion(
                kind="spoof",
                version=version,
                path=path or folder.relative_to(settings.data_dir).as_posix(),
                parent="bundled",
                status=status,
                metrics={},
                data_summary={},
                created_by="admin:test",
                created_at=days_ago(days),
                promoted_at=None if promoted_days_ago is None else days_ago(promoted_days_ago),
                replaced=replaced,
            )
        )
    return folder


def add_speaker(store: Store, name: str) -> str:
    with unit_of_work(store.sessions) as session:
        return SpeakerRepository(session).add(Speaker(display_name=name)).id


def kept_file(settings: Settings, data: bytes) -> str:
    """A kept recording's file (no row): its SHA-256."""
    with BlobStore(settings.speaker_samples_dir).staging() as staging:
        sha256 = staging.add(data)
        staging.publish()
    return sha256


def keep_recording(store: Store, settings: Settings, speaker_id: str, data: bytes) -> str:
    """A kept recording, file and row, of ``speaker_id``: its SHA-256."""
    sha256 = kept_file(settings, data)
    with unit_of_work(store.sessions) as session:
        SpeakerSampleRepository(session).add_all([_sample(speaker_id, sha256, data)])
    return sha256


def keep_recording_of_a_deleted_speaker(store: Store, settings: Settings, data: bytes) -> str:
    """A row whose speaker does not exist, as a database that did not enforce the foreign
    key leaves one (here written with the key switched off)."""
    sha256 = kept_file(settings, data)
    sample = _sample(new_id(), sha256, data)
    with store.engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        else:
            connection.execute(text("SET session_replication_role = replica"))
        connection.execute(
            SpeakerSample.__table__.insert().values(  # type: ignore[attr-defined]
                id=sample.id,
                speaker_id=sample.speaker_id,
                sha256=sha256,
                filename=sample.filename,
                size_bytes=len(data),
                duration_s=2.0,
                created_at=utcnow(),
            )
        )
        connection.commit()
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
        else:
            connection.execute(text("SET session_replication_role = DEFAULT"))
            connection.commit()
    return sha256


def _sample(speaker_id: str, sha256: str, data: bytes) -> SpeakerSample:
    return SpeakerSample(
        id=new_id(),
        speaker_id=speaker_id,
        sha256=sha256,
        filename="enroll.wav",
        size_bytes=len(data),
        duration_s=2.0,
    )


def make_old(path: Path, hours: float = 2) -> None:
    """Every entry under ``path`` (and itself) last changed ``hours`` ago."""
    then = time.time() - hours * 3600
    for parent, dirs, names in os.walk(path, topdown=False):
        for name in [*dirs, *names]:
            os.utime(Path(parent) / name, (then, then))
    os.utime(path, (then, then))


def files_under(root: Path) -> set[str]:
    """Every file under ``root``, relative: what a test compares before and after."""
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
