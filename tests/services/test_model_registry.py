"""The model registry with constructed candidates: promotion guarded by the evaluation (and
forced), rollback through the history, the audit log, and servers switching models without
a restart (a second runtime on the same store sees a promotion)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import make_settings
from tests.databases import BACKENDS, database_url
from tests.doubles import SpectralTestEngine
from tests.models_data import held_out, register
from voxguard.config import Settings
from voxguard.errors import InvalidTransition, ModelVersionNotFound, PromotionRefused
from voxguard.services.active_model import ActiveSpoof
from voxguard.services.engines import Loaded
from voxguard.services.model_registry import BUNDLED, ModelRegistry
from voxguard.services.runtime import build_runtime
from voxguard.store.audit import AuditRepository
from voxguard.store.db import unit_of_work
from voxguard.store.setup import Store, open_store


@pytest.fixture(params=BACKENDS)
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    with database_url(request.param, tmp_path) as url:
        yield make_settings(tmp_path, url, model_check_s=0.0)


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    opened = open_store(settings)
    yield opened
    opened.close()


def call(store: Store, settings: Settings, method: str, *args: Any, **kwargs: Any) -> Any:
    with unit_of_work(store.sessions) as session:
        return getattr(ModelRegistry(session, settings, "admin:test"), method)(*args, **kwargs)


def test_bundled_is_active_when_nothing_else_is(store: Store, settings: Settings) -> None:
    (bundled,) = call(store, settings, "list")
    assert (bundled.version, bundled.status) == (BUNDLED, "active")
    assert call(store, settings, "active_version", "spoof") == BUNDLED
    with pytest.raises(ModelVersionNotFound):
        call(store, settings, "get", "spoof", "nope")
    with pytest.raises(InvalidTransition, match="nothing to roll back"):
        call(store, settings, "rollback", "spoof")


def test_promotion_refused_when_worse_unless_forced(store: Store, settings: Settings) -> None:
    register(store, settings, "worse", held_out(eer=0.20, base_eer=0.05))
    register(store, settings, "close", held_out(eer=0.055, base_eer=0.05))
    with pytest.raises(PromotionRefused, match="worse than the active model's") as refused:
        call(store, settings, "promote", "spoof", "worse")
    assert refused.value.http_status == 409
    assert call(store, settings, "active_version", "spoof") == BUNDLED
    # Within VOXGUARD_PROMOTE_TOLERANCE (0.01): promoted.
    assert call(store, settings, "promote", "spoof", "close").status == "active"
    # "worse" was evaluated against the bundled model, which is no longer active.
    with pytest.raises(PromotionRefused, match="no comparison on the same recordings"):
        call(store, settings, "promote", "spoof", "worse")
    forced = call(store, settings, "promote", "spoof", "worse", force=True)
    assert (forced.status, forced.replaced) == ("active", "close")
    with unit_of_work(store.sessions) as session:
        entries = AuditRepository(session).list()
        promotions = [e for e in entries if e.action == "promote"]
    assert [e.entity_id for e in promotions] == ["spoof/worse", "spoof/close"]
    assert promotions[0].detail["forced"] is True and promotions[1].detail["forced"] is False


def test_rollback_goes_back_through_the_history(store: Store, settings: Settings) -> None:
    register(store, settings, "a", held_out(0.05, 0.05))
    register(store, settings, "b", held_out(0.05, 0.05), parent="a")
    call(store, settings, "promote", "spoof", "a")
    call(store, settings, "promote", "spoof", "b")
    assert call(store, settings, "get", "spoof", "a").status == "retired"
    assert call(store, settings, "rollback", "spoof").version == "a"
    assert call(store, settings, "get", "spoof", "b").status == "retired"
    assert call(store, settings, "rollback", "spoof").version == BUNDLED
    assert call(store, settings, "active_version", "spoof") == BUNDLED
    with unit_of_work(store.sessions) as session:
        rollbacks = [e for e in AuditRepository(session).list() if e.action == "rollback"]
    assert [(e.entity_id, e.detail["to"]) for e in rollbacks] == [
        ("spoof/a", BUNDLED),
        ("spoof/b", "a"),
    ]


def test_a_second_runtime_switches_without_restart(settings: Settings) -> None:
    speaker = Loaded(SpectralTestEngine())
    first = build_runtime(settings, speaker=speaker)
    second = build_runtime(settings, speaker=speaker)
    try:
        served = second.spoof.engine
        assert isinstance(served, ActiveSpoof)
        bundled_version = served.model_version
        assert served.version == BUNDLED
        register(first.store, settings, "next", held_out(0.05, 0.05))
        call(first.store, settings, "promote", "spoof", "next")
        assert served.version == "next"  # VOXGUARD_MODEL_CHECK_S=0: the next call looks
        assert served.model_version == "retrained-next"
        call(first.store, settings, "rollback", "spoof")
        assert served.model_version == bundled_version
    finally:
        first.close()
        second.close()
