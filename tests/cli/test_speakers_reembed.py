"""``voxguard speakers reembed [--wait]`` over the local store, after a speaker model change."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.api.audio import speaker_halves
from tests.doubles import UpgradedSpectralEngine
from voxguard.cli.main import app
from voxguard.config import Settings, get_settings
from voxguard.services import runtime as runtime_module
from voxguard.services.engines import Loaded
from voxguard.services.runtime import Runtime

runner = CliRunner()


def _run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def _upgrade(monkeypatch: pytest.MonkeyPatch) -> None:
    real = runtime_module.build_runtime

    def upgraded(
        settings: Settings, speaker: Loaded | None = None, spoof: Loaded | None = None
    ) -> Runtime:
        return real(settings, speaker=Loaded(UpgradedSpectralEngine()), spoof=Loaded(None, "-"))

    monkeypatch.setattr("voxguard.cli.local.build_runtime", upgraded)


def test_reembed_waits_prints_the_summary_and_delete_removes_the_recordings(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOXGUARD_KEEP_ENROLLMENT_AUDIO", "true")
    get_settings.cache_clear()
    alice, bob = cli_env / "alice.wav", cli_env / "bob.wav"
    alice.write_bytes(speaker_halves(0)[0])
    bob.write_bytes(speaker_halves(1)[0])
    assert _run("enroll", "Alice", str(alice))[0] == 0
    monkeypatch.setenv("VOXGUARD_KEEP_ENROLLMENT_AUDIO", "false")
    get_settings.cache_clear()
    assert _run("enroll", "Bob", str(bob))[0] == 0
    kept = cli_env / "data" / "speaker-samples" / "blobs"
    assert len(list(kept.glob("*/*"))) == 1

    _upgrade(monkeypatch)
    code, out = _run("speakers", "reembed", "--wait")
    assert code == 0, out
    text = " ".join(out.split())
    assert "succeeded" in text and "1 re-embedded, 1 must enroll again, 0 failed" in text
    assert "Bob" in text and "no enrollment recording kept" in text

    code, out = _run("speakers", "reembed", "--wait", "--json")
    assert code == 0, out
    again = json.loads(out)
    assert again["status"] == "succeeded" and again["summary"]["reembedded"] == 0
    assert [s["name"] for s in again["summary"]["must_reenroll_speakers"]] == ["Bob"]

    code, out = _run("speakers", "reembed")
    assert code == 0 and "queued" in out and "voxguard jobs show" in " ".join(out.split())
    code, out = _run("speakers", "reembed")
    assert code == 5 and "queued already" in " ".join(out.split())  # one at a time
    code, out = _run("jobs", "list", "--kind", "reembed", "--json")
    assert [j["status"] for j in json.loads(out)["items"]] == ["queued", "succeeded", "succeeded"]

    code, out = _run("users", "delete", "Alice", "--yes")
    assert code == 0, out
    assert list(kept.glob("*/*")) == []
