"""The process that loads the models caps numpy's BLAS threads (``VOXGUARD_BLAS_THREADS``)
once they are loaded, not before: a lazy runtime (a job worker) does it with its first job."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.api.conftest import make_settings
from tests.doubles import SpectralTestEngine
from voxguard.services import runtime as runtime_module
from voxguard.services.engines import Loaded
from voxguard.services.runtime import build_runtime


@pytest.mark.parametrize("threads", [0, 1, 2])
def test_loading_the_models_limits_blas_threads_as_configured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, threads: int
) -> None:
    calls: list[int] = []
    monkeypatch.setattr(runtime_module, "limit_blas_threads", calls.append)
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'test.db'}", blas_threads=threads)
    runtime = build_runtime(
        settings, speaker=Loaded(SpectralTestEngine()), spoof=Loaded(None, "x"), lazy=True
    )
    try:
        assert calls == []
        runtime.models()
        runtime.models()
        assert calls == [threads]
    finally:
        runtime.close()


def test_blas_threads_default_to_one(tmp_path: Path) -> None:
    assert make_settings(tmp_path, "sqlite://").blas_threads == 1
