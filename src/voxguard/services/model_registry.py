"""The model registry: retrained spoof models as candidates, one of them (or the bundled
model) active, promotion guarded by the candidate's evaluation, rollback, all audited.

The bundled model is registered implicitly as version ``bundled``: it has no row, and it is
active whenever no row is. A version whose files housekeeping deleted (``prune``) keeps its
row, status ``pruned``: listed with its metrics, never served or trained from again.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from voxguard.config import Settings
from voxguard.errors import (
    InvalidInput,
    InvalidTransition,
    ModelVersionNotFound,
    ModelVersionPruned,
    PromotionRefused,
)
from voxguard.models import bundled_model_path
from voxguard.store.audit import AuditRepository
from voxguard.store.model_versions import ModelVersionRepository
from voxguard.store.models import ModelVersion, utcnow

KINDS = ("spoof",)
BUNDLED = "bundled"
DET_PLOT = "det.png"
PRUNED = "pruned"


class ModelVersionOut(BaseModel):
    kind: str
    version: str
    status: str = Field(description="candidate, active, retired or pruned (files deleted)")
    path: str | None = Field(description="relative to the data dir; None for the bundled model")
    parent: str | None
    metrics: dict[str, Any]
    data_summary: dict[str, Any]
    created_by: str
    created_at: datetime | None
    promoted_by: str | None = None
    promoted_at: datetime | None = None
    replaced: str | None = Field(default=None, description="where a rollback goes back to")

    @classmethod
    def of(cls, row: ModelVersion) -> ModelVersionOut:
        return cls(
            kind=row.kind,
            version=row.version,
            status=row.status,
            path=row.path,
            parent=row.parent,
            metrics=row.metrics,
            data_summary=row.data_summary,
            created_by=row.created_by,
            created_at=row.created_at,
            promoted_by=row.promoted_by,
            promoted_at=row.promoted_at,
            replaced=row.replaced,
        )


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise InvalidInput(f"Unknown model kind {kind!r}; known: {', '.join(KINDS)}.", kind=kind)
    return kind


def version_dir(settings: Settings, kind: str, version: str) -> Path:
    return settings.models_dir / kind / version


def bundled_out(kind: str, active: bool) -> ModelVersionOut:
    import json

    sidecar = json.loads((bundled_model_path(kind) / "spoof_detector.json").read_text())
    metrics = sidecar.get("metrics", {})
    return ModelVersionOut(
        kind=kind,
        version=BUNDLED,
        status="active" if active else "retired",
        path=None,
        parent=None,
        metrics={
            "protocol": metrics.get("protocol"),
            "eer": metrics.get("eer"),
            "sidecar_version": sidecar.get("version"),
        },
        data_summary=sidecar.get("training_data", {}),
        created_by="voxguard",
        created_at=None,
    )


class ModelRegistry:
    def __init__(self, session: Session, settings: Settings, actor: str = "system") -> None:
        self.repo = ModelVersionRepository(session)
        self.audit = AuditRepository(session)
        self.settings = settings
        self.actor = actor

    def list(self, kind: str | None = None) -> list[ModelVersionOut]:
        kinds = [check_kind(kind)] if kind else list(KINDS)
        found: list[ModelVersionOut] = []
        for k in kinds:
            found.append(bundled_out(k, self.repo.active(k) is None))
            found.extend(ModelVersionOut.of(row) for row in self.repo.list(k))
        return found

    def get(self, kind: str, version: str) -> ModelVersionOut:
        check_kind(kind)
        if version == BUNDLED:
            return bundled_out(kind, self.repo.active(kind) is None)
        return ModelVersionOut.of(self._row(kind, version))

    def active_version(self, kind: str) -> str:
        row = self.repo.active(check_kind(kind))
        return row.version if row else BUNDLED

    def model_dir(self, kind: str, version: str) -> Path | None:
        """The folder of a registered version; None for the bundled model."""
        if version == BUNDLED:
            return None
        return self.settings.data_dir / self._servable(self._row(kind, version)).path

    def register_candidate(
        self,
        kind: str,
        version: str,
        parent: str,
        metrics: dict[str, Any],
        data_summary: dict[str, Any],
    ) -> ModelVersionOut:
        path = version_dir(self.settings, kind, version).relative_to(self.settings.data_dir)
        row = self.repo.add(
            ModelVersion(
                kind=check_kind(kind),
                version=version,
                path=path.as_posix(),
                parent=parent,
                status="candidate",
                metrics=metrics,
                data_summary=data_summary,
                created_by=self.actor,
            )
        )
        held = metrics.get("held_out", {})
        self.audit.record(
            self.actor,
            "create",
            "model",
            f"{kind}/{version}",
            parent=parent,
            eer=held.get("eer"),
            base_eer=held.get("base_eer"),
        )
        return ModelVersionOut.of(row)

    def promote(self, kind: str, version: str, force: bool = False) -> ModelVersionOut:
        """Serve ``version`` from now on (every server and worker switches within
        VOXGUARD_MODEL_CHECK_S); refused when its evaluation says it is worse."""
        check_kind(kind)
        current = self.active_version(kind)
        if version == current:
            raise InvalidTransition(f"{kind} model {version} is active already.", version=version)
        row = None if version == BUNDLED else self._servable(self._row(kind, version))
        reason = None if row is None else self.refusal(row, current)
        if reason and not force:
            raise PromotionRefused(
                f"{kind} model {version} was not promoted: {reason} Force it (force=true, "
                "voxguard models promote --force) to promote it anyway.",
                version=version,
                active=current,
            )
        self.repo.retire_active(kind)
        now = utcnow()
        if row is not None:
            replaced = None if current == BUNDLED else current
            self.repo.set(
                row, status="active", promoted_by=self.actor, promoted_at=now, replaced=replaced
            )
        self.audit.record(
            self.actor,
            "promote",
            "model",
            f"{kind}/{version}",
            previous=current,
            forced=bool(force and reason),
            refusal=reason if force else None,
        )
        return self.get(kind, version)

    def rollback(self, kind: str) -> ModelVersionOut:
        """Back to the version that was active before the active one was promoted."""
        row = self.repo.active(check_kind(kind))
        if row is None:
            raise InvalidTransition(
                f"The bundled {kind} model is active: there is nothing to roll back.", kind=kind
            )
        target = self.repo.find(kind, row.replaced) if row.replaced else None
        if target is not None:
            self._servable(target)
        self.repo.set(row, status="retired")
        if target is not None:
            self.repo.set(target, status="active")
        back_to = target.version if target else BUNDLED
        self.audit.record(self.actor, "rollback", "model", f"{kind}/{row.version}", to=back_to)
        return self.get(kind, back_to)

    def refusal(self, row: ModelVersion, active: str) -> str | None:
        """Why ``row`` should not replace ``active``, judged on the sets it was evaluated on
        with its parent; None when it may."""
        tolerance = self.settings.promote_tolerance
        if row.parent != active:
            return (
                f"it was evaluated against its parent {row.parent}, but {active} is active, "
                "so there is no comparison on the same recordings."
            )
        for name in ("held_out", "regression_set"):
            block = row.metrics.get(name)
            if not isinstance(block, dict):
                continue
            eer, base = block.get("eer"), block.get("base_eer")
            if eer is None or base is None:
                return f"its {name} evaluation has no EER to compare."
            if float(eer) > float(base) + tolerance:
                return (
                    f"its {name} EER {100 * float(eer):.1f}% is worse than the active model's "
                    f"{100 * float(base):.1f}% on the same recordings by more than "
                    f"VOXGUARD_PROMOTE_TOLERANCE={tolerance}."
                )
        if not isinstance(row.metrics.get("held_out"), dict):
            return "it has no held-out evaluation."
        return None

    def _servable(self, row: ModelVersion) -> ModelVersion:
        """``row``, unless its files were pruned."""
        if row.status == PRUNED:
            raise ModelVersionPruned(
                f"{row.kind} model {row.version}'s files were deleted by housekeeping "
                "(voxguard admin prune): it cannot be served or retrained from again; promote "
                "another version (GET /v1/models lists them) or the bundled model.",
                kind=row.kind,
                version=row.version,
            )
        return row

    def _row(self, kind: str, version: str) -> ModelVersion:
        row = self.repo.find(kind, version)
        if row is None:
            raise ModelVersionNotFound(
                f"No {kind} model version {version!r}; GET /v1/models lists them.",
                kind=kind,
                version=version,
            )
        return row
