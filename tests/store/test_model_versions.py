"""The registry's rows on every backend: lookups, the active version, retiring it."""

from __future__ import annotations

import pytest

from voxguard.errors import Conflict
from voxguard.store.db import unit_of_work
from voxguard.store.model_versions import ModelVersionRepository
from voxguard.store.models import ModelVersion
from voxguard.store.setup import Store


def _row(version: str, status: str = "candidate") -> ModelVersion:
    return ModelVersion(
        kind="spoof",
        version=version,
        path=f"models/spoof/{version}",
        parent="bundled",
        status=status,
        metrics={"held_out": {"eer": 0.1}},
        data_summary={"recordings": 4},
        created_by="test",
    )


def test_active_version_and_retiring(store: Store) -> None:
    with unit_of_work(store.sessions) as session:
        repo = ModelVersionRepository(session)
        assert repo.active_version("spoof") is None
        repo.add(_row("a", "active"))
        repo.add(_row("b"))
    with unit_of_work(store.sessions) as session:
        repo = ModelVersionRepository(session)
        assert repo.active_version("spoof") == ("a", "models/spoof/a")
        assert {r.version for r in repo.list("spoof")} == {"a", "b"}
        found = repo.find("spoof", "b")
        assert found is not None and found.metrics == {"held_out": {"eer": 0.1}}
        assert repo.find("spoof", "zzz") is None
        repo.retire_active("spoof")
    with unit_of_work(store.sessions) as session:
        repo = ModelVersionRepository(session)
        assert repo.active("spoof") is None
        row = repo.find("spoof", "a")
        assert row is not None and row.status == "retired"


def test_version_is_unique_per_kind(store: Store) -> None:
    with unit_of_work(store.sessions) as session:
        ModelVersionRepository(session).add(_row("a"))
    with pytest.raises(Conflict), unit_of_work(store.sessions) as session:
        ModelVersionRepository(session).add(_row("a"))
