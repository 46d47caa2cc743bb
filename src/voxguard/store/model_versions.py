"""The model registry's rows: versions of each kind of model, and which one is served."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import CursorResult, select, update

from voxguard.store.models import ModelVersion
from voxguard.store.repository import Repository


class ModelVersionRepository(Repository[ModelVersion]):
    model = ModelVersion

    def list(self, kind: str | None = None) -> Sequence[ModelVersion]:
        """Versions (of ``kind``), newest first."""
        stmt = select(ModelVersion)
        if kind is not None:
            stmt = stmt.where(ModelVersion.kind == kind)
        return self.session.scalars(
            stmt.order_by(ModelVersion.created_at.desc(), ModelVersion.version)
        ).all()

    def find(self, kind: str, version: str) -> ModelVersion | None:
        stmt = select(ModelVersion).where(
            ModelVersion.kind == kind, ModelVersion.version == version
        )
        return self.session.scalars(stmt).first()

    def active(self, kind: str) -> ModelVersion | None:
        stmt = select(ModelVersion).where(
            ModelVersion.kind == kind, ModelVersion.status == "active"
        )
        return self.session.scalars(stmt).first()

    def active_version(self, kind: str) -> tuple[str, str] | None:
        """(version, path) of the active row: one indexed query, for the servers' polls."""
        stmt = select(ModelVersion.version, ModelVersion.path).where(
            ModelVersion.kind == kind, ModelVersion.status == "active"
        )
        row = self.session.execute(stmt).first()
        return (row[0], row[1]) if row else None

    def retire_active(self, kind: str) -> None:
        self.session.execute(
            update(ModelVersion)
            .where(ModelVersion.kind == kind, ModelVersion.status == "active")
            .values(status="retired")
        )
        self.session.flush()

    def set(self, row: ModelVersion, **values: Any) -> None:
        for name, value in values.items():
            setattr(row, name, value)
        self.session.flush()

    def change_status(self, row_id: str, from_: Collection[str], status: str) -> bool:
        """Set ``status`` if the row's is one of ``from_`` (one conditional UPDATE: a
        promotion meanwhile wins); whether it was."""
        stmt = (
            update(ModelVersion)
            .where(ModelVersion.id == row_id, ModelVersion.status.in_(list(from_)))
            .values(status=status)
        )
        result: CursorResult[Any] = self.session.execute(stmt)  # type: ignore[assignment]
        return result.rowcount == 1
