"""ORM models. Timestamps are stored in UTC and come back timezone-aware on every backend."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return uuid.uuid4().hex


class UTCDateTime(TypeDecorator[datetime]):
    """SQLite drops the zone: store naive UTC, hand back aware UTC everywhere."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime, dict[str, Any]: JSON}


class Meta(Base):
    """Small key/value facts about the store itself (e.g. the encryption key check value)."""

    __tablename__ = "meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Speaker(Base):
    __tablename__ = "speakers"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    display_name: Mapped[str] = mapped_column(String(200), index=True)
    external_id: Mapped[str | None] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    enrollment_count: Mapped[int] = mapped_column(Integer, default=0)
    speech_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    quality: Mapped[float] = mapped_column(Float, default=0.0)
    behavior_profile: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    voiceprints: Mapped[list[VoiceprintRow]] = relationship(
        back_populates="speaker", cascade="all, delete-orphan", passive_deletes=True
    )


class VoiceprintRow(Base):
    """One speaker model per model version; ``ciphertext`` is the encrypted ``Voiceprint``."""

    __tablename__ = "voiceprints"
    __table_args__ = (UniqueConstraint("speaker_id", "model_version"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    speaker_id: Mapped[str] = mapped_column(ForeignKey("speakers.id", ondelete="CASCADE"))
    model_version: Mapped[str] = mapped_column(String(100), index=True)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    speaker: Mapped[Speaker] = relationship(back_populates="voiceprints")


class GalleryChange(Base):
    """One enrollment or deletion, numbered by the gallery version it raised the store to:
    a worker whose index is at version v applies the rows after v (``meta.gallery_version``
    holds the newest number; both are written in the transaction that made the change)."""

    __tablename__ = "gallery_changes"
    version: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    # No foreign key: the row outlives a deleted speaker, whose deletion it records.
    speaker_id: Mapped[str] = mapped_column(String(32))
    op: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class CheckEvent(Base):
    __tablename__ = "check_events"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    operation: Mapped[str] = mapped_column(String(32), index=True)
    caller: Mapped[str] = mapped_column(String(200))
    speaker_id: Mapped[str | None] = mapped_column(
        ForeignKey("speakers.id", ondelete="SET NULL"), index=True
    )
    scores: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    decision: Mapped[str] = mapped_column(String(64))
    risk_score: Mapped[float | None] = mapped_column(Float)
    risk_level: Mapped[str | None] = mapped_column(String(16))
    verdict: Mapped[str | None] = mapped_column(String(64))
    audio: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    raw_audio: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)


class Alert(Base):
    __tablename__ = "alerts"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    status: Mapped[str] = mapped_column(String(16), index=True, default="PENDING")
    level: Mapped[str] = mapped_column(String(16), index=True)
    reason: Mapped[str] = mapped_column(Text)
    event_id: Mapped[str | None] = mapped_column(ForeignKey("check_events.id", ondelete="SET NULL"))
    speaker_id: Mapped[str | None] = mapped_column(
        ForeignKey("speakers.id", ondelete="SET NULL"), index=True
    )
    changed_by: Mapped[str | None] = mapped_column(String(200))
    changed_at: Mapped[datetime | None] = mapped_column(default=None)
    note: Mapped[str | None] = mapped_column(Text)


class ApiKey(Base):
    """Only a SHA-256 of the secret is stored; ``prefix`` lets people tell keys apart."""

    __tablename__ = "api_keys"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class AuditEntry(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Dataset(Base):
    """Labelled recordings for retraining; immutable once stored (upload, read, delete)."""

    __tablename__ = "datasets"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    created_by: Mapped[str] = mapped_column(String(200))


class DatasetBlob(Base):
    """One stored recording, content-addressed: its bytes live at datasets/blobs/<sha256>."""

    __tablename__ = "dataset_blobs"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DatasetItem(Base):
    """A recording in a dataset with its label; several datasets may share one blob."""

    __tablename__ = "dataset_items"
    __table_args__ = (UniqueConstraint("dataset_id", "path"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    dataset_id: Mapped[str] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    path: Mapped[str] = mapped_column(String(1000))
    label: Mapped[str] = mapped_column(String(16))
    system: Mapped[str | None] = mapped_column(String(100))
    # No cascade: a blob goes only once no item uses it (the service removes its file).
    sha256: Mapped[str] = mapped_column(ForeignKey("dataset_blobs.sha256"), index=True)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    duration_s: Mapped[float] = mapped_column(Float)
    speech_s: Mapped[float] = mapped_column(Float)
    sample_rate: Mapped[int] = mapped_column(Integer)
    channels: Mapped[int] = mapped_column(Integer)
    codec: Mapped[str] = mapped_column(String(32))


class Job(Base):
    """A background job (detect, analyze) over uploaded files; its files and results live
    under ``<jobs dir>/<id>/``. ``worker`` and ``heartbeat_at`` tell a live run from one whose
    worker died."""

    __tablename__ = "jobs"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True, default="queued")
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    files_total: Mapped[int] = mapped_column(Integer, default=0)
    files_done: Mapped[int] = mapped_column(Integer, default=0)
    files_failed: Mapped[int] = mapped_column(Integer, default=0)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    result_path: Mapped[str | None] = mapped_column(String(500), default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    worker: Mapped[str | None] = mapped_column(String(200), default=None)
    heartbeat_at: Mapped[datetime | None] = mapped_column(default=None)


class ModelVersion(Base):
    """A model in the registry: its files under ``<data dir>/models/<kind>/<version>/``.

    ``status`` is candidate (new, never served), active (served: at most one per kind; none
    means the bundled model) or retired. ``replaced``: the version that was active when this
    one was last promoted (None: the bundled model), where a rollback goes back to."""

    __tablename__ = "model_versions"
    __table_args__ = (UniqueConstraint("kind", "version"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    version: Mapped[str] = mapped_column(String(100))
    path: Mapped[str] = mapped_column(String(500))
    parent: Mapped[str | None] = mapped_column(String(100), default=None)
    status: Mapped[str] = mapped_column(String(16), index=True, default="candidate")
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    data_summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    promoted_by: Mapped[str | None] = mapped_column(String(200), default=None)
    promoted_at: Mapped[datetime | None] = mapped_column(default=None)
    replaced: Mapped[str | None] = mapped_column(String(100), default=None)


class SpeakerSample(Base):
    """A kept enrollment recording (VOXGUARD_KEEP_ENROLLMENT_AUDIO): its original bytes,
    Fernet-encrypted, in ``speaker-samples/blobs/<sha256[:2]>/<sha256>``. ``sha256`` is the
    encrypted file's: encryption is randomised, so it says nothing about the audio."""

    __tablename__ = "speaker_samples"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    speaker_id: Mapped[str] = mapped_column(
        ForeignKey("speakers.id", ondelete="CASCADE"), index=True
    )
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    filename: Mapped[str] = mapped_column(String(255))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    duration_s: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
