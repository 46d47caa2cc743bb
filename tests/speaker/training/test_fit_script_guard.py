"""scripts/fit_speaker_backend.py runs its readers through the holdout guard first."""

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "fit_speaker_backend.py"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fit_speaker_backend", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_file_the_guard_drops_stops_the_fit_and_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = _script()
    monkeypatch.setattr(script, "guard_flagged_files", lambda root, pattern: {"9-9-0000.flac"})
    with pytest.raises(SystemExit, match=r"drops 1 file\(s\) of .*: 9-9-0000\.flac"):
        script.build_table(tmp_path, seed=0, encoder="campplus")


def test_readers_the_guard_passes_are_counted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    script = _script()
    (tmp_path / "1-1-0000.flac").write_bytes(b"")
    monkeypatch.setattr(script, "guard_flagged_files", lambda root, pattern: frozenset())
    script.guard_readers(tmp_path)
    assert "1 files checked, none dropped" in capsys.readouterr().out
