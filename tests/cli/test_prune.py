"""``voxguard admin prune`` over the local store: a dry run changes nothing, the summary
(table and JSON), the kept-audio purge only with its flag, a refusal's exit code."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.prune_data import add_job, add_model, add_speaker, files_under, keep_recording
from voxguard.cli.main import app
from voxguard.config import get_settings
from voxguard.services.job_files import job_dir
from voxguard.store.blobs import BlobStore
from voxguard.store.setup import Store, open_store

runner = CliRunner()


def _run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["admin", "prune", *args])
    return result.exit_code, " ".join(result.output.split())


@pytest.fixture
def store(cli_env: Path) -> Iterator[Store]:
    opened = open_store(get_settings())
    yield opened
    opened.close()


def test_dry_run_then_prune(store: Store) -> None:
    settings = get_settings()
    job = add_job(store, settings)
    model = add_model(store, settings, "old", "retired")
    alice = add_speaker(store, "Alice")
    kept = keep_recording(store, settings, alice, b"alice" * 100)
    before = files_under(settings.data_dir)

    code, output = _run("--dry-run", "--json")
    assert code == 0, output
    report = json.loads(output)
    assert report["dry_run"] is True
    assert [j["id"] for j in report["jobs"]["jobs"]] == [job]
    assert report["kept_audio"]["recordings"] == 1
    assert files_under(settings.data_dir) == before

    code, output = _run("--older-than", "10")
    assert code == 0, output
    assert "Deleted" in output and "model spoof/old (retired)" in output
    assert "1 enrollment recording(s) are kept although VOXGUARD_KEEP_ENROLLMENT_AUDIO" in output
    assert not job_dir(settings, job).exists() and not model.exists()
    assert BlobStore(settings.speaker_samples_dir).path(kept).is_file()  # only with the flag

    code, output = _run("--purge-kept-audio", "--json")
    assert code == 0, output
    assert json.loads(output)["kept_audio"]["purged_recordings"] == 1
    assert not BlobStore(settings.speaker_samples_dir).path(kept).exists()


def test_refusals_and_bad_options_have_their_exit_codes(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, output = _run("--older-than", "-1")
    assert code == 2
    monkeypatch.setenv("VOXGUARD_KEEP_ENROLLMENT_AUDIO", "true")
    get_settings.cache_clear()
    code, output = _run("--purge-kept-audio")
    assert code == 5
    assert "error (prune_refused)" in output and "VOXGUARD_KEEP_ENROLLMENT_AUDIO is on" in output
