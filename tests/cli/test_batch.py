from __future__ import annotations

import csv
import json
import zipfile
from collections import Counter
from pathlib import Path

from sqlalchemy import select
from typer.testing import CliRunner

from tests.api.audio import silence, speaker_halves
from voxguard.cli.main import app
from voxguard.config import get_settings
from voxguard.store.models import CheckEvent
from voxguard.store.setup import open_store

runner = CliRunner()

NOT_AUDIO = b"minutes of the meeting, not a recording\n"


def _folder(root: Path) -> Path:
    """Two speakers (one in a subfolder), silence, and a text file named .wav."""
    folder = root / "calls"
    (folder / "sub").mkdir(parents=True)
    (folder / "alice.wav").write_bytes(speaker_halves(0)[0])
    (folder / "sub" / "bob.wav").write_bytes(speaker_halves(1)[0])
    (folder / "silence.wav").write_bytes(silence())
    (folder / "notes.wav").write_bytes(NOT_AUDIO)
    (folder / "readme.txt").write_text("not picked up: no audio name")
    return folder


def _csv(path: Path) -> dict[str, dict[str, str]]:
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len({r["file"] for r in rows}) == len(rows), "a file was written twice"
    return {r["file"]: r for r in rows}


def _events() -> Counter[str]:
    store = open_store(get_settings())
    try:
        with store.sessions() as session:
            return Counter(e.operation for e in session.scalars(select(CheckEvent)))
    finally:
        store.close()


def _batch(*args: str) -> tuple[int, str]:
    """The exit code and the output with its line wrapping undone."""
    result = runner.invoke(app, ["batch", *args])
    return result.exit_code, " ".join(result.output.split())


def test_detect_csv_failures_resume_and_retry(cli_real_env: Path) -> None:
    folder = _folder(cli_real_env)
    out = cli_real_env / "results.csv"

    code, output = _batch(str(folder), "--out", str(out))
    assert code == 1, output  # some failed, not all
    assert "2 done, 0 skipped" in output and "2 failed" in output
    assert "notes.wav" in output and "silence.wav" in output  # the failures are listed
    rows = _csv(out)
    assert set(rows) == {"alice.wav", "sub/bob.wav", "silence.wav", "notes.wav"}
    assert list(next(iter(rows.values()))) == [
        "file",
        "status",
        "error",
        "event_id",
        "spoof_probability",
        "is_synthetic",
        "channel",
        "speech_s",
    ]
    for name in ("alice.wav", "sub/bob.wav"):
        assert rows[name]["status"] == "ok" and rows[name]["error"] == ""
        assert 0.0 <= float(rows[name]["spoof_probability"]) <= 1.0
        assert rows[name]["is_synthetic"] in ("true", "false") and rows[name]["event_id"]
    assert rows["notes.wav"]["status"] == "failed"
    assert "not in an accepted audio format" in rows["notes.wav"]["error"]
    assert "no speech" in rows["silence.wav"]["error"]
    assert _events() == {"detect": 2}  # one event per file that ran, as for single calls

    # Everything is in the results: nothing runs again.
    code, output = _batch(str(folder), "--out", str(out))
    assert code == 0, output
    assert "0 done, 4 skipped" in output and "2 skipped file(s) failed earlier" in output

    # A row removed: only its file runs.
    lines = out.read_text().splitlines(keepends=True)
    out.write_text("".join(line for line in lines if not line.startswith("alice.wav,")))
    code, output = _batch(str(folder), "--out", str(out))
    assert code == 0 and "1 done, 3 skipped" in output, output
    assert _csv(out)["alice.wav"]["status"] == "ok"

    # --retry-failed: the failed rows go, their files run again; a fixed one now passes.
    (folder / "notes.wav").write_bytes(speaker_halves(3)[0])
    code, output = _batch(str(folder), "--out", str(out), "--retry-failed")
    assert code == 1, output
    assert "1 done, 2 skipped" in output and "2 earlier failure(s) retried" in output
    rows = _csv(out)
    assert len(rows) == 4 and rows["notes.wav"]["status"] == "ok"
    assert rows["silence.wav"]["status"] == "failed"
    assert _events() == {"detect": 4}


def test_jsonl_with_two_workers(cli_real_env: Path) -> None:
    folder = _folder(cli_real_env)
    out = cli_real_env / "results.jsonl"

    code, output = _batch(str(folder), "--out", str(out), "--detect", "--workers", "2")
    assert code == 1, output
    records = {r["file"]: r for r in map(json.loads, out.read_text().splitlines())}
    assert set(records) == {"alice.wav", "sub/bob.wav", "silence.wav", "notes.wav"}
    alice = records["alice.wav"]
    assert alice["status"] == "ok" and alice["error"] is None and alice["mode"] == "detect"
    assert alice["filename"] == "alice.wav" and alice["spoof"]["status"] == "ok"
    assert alice["spoof"]["windows"] and "speech_s" in alice["quality"]
    notes = records["notes.wav"]
    assert notes["status"] == "failed" and notes["error_code"] == "unsupported_audio_format"
    # Both worker processes wrote their events into the one SQLite database.
    assert _events() == {"detect": 2}

    code, output = _batch(str(folder), "--out", str(out), "--workers", "2")
    assert code == 0 and "0 done, 4 skipped" in output, output


def test_analyze_csv(cli_real_env: Path) -> None:
    folder = cli_real_env / "calls"
    folder.mkdir()
    (folder / "call.wav").write_bytes(speaker_halves(2)[0])
    out = cli_real_env / "analyze.csv"

    code, output = _batch(str(folder), "--analyze", "--out", str(out))
    assert code == 0, output
    row = _csv(out)["call.wav"]
    assert row["status"] == "ok" and int(row["num_speakers"]) >= 1
    assert row["risk_level"] in ("LOW", "MEDIUM", "HIGH") and row["synthetic_speakers"] != ""
    assert _events() == {"analyze": 1}


def test_identify_and_check(cli_env: Path) -> None:
    folder = _folder(cli_env)
    assert runner.invoke(app, ["enroll", "Alice", str(folder / "alice.wav")]).exit_code == 0

    identified = cli_env / "identify.csv"
    code, output = _batch(str(folder), "--identify", "--out", str(identified))
    assert code == 1, output
    rows = _csv(identified)
    assert rows["alice.wav"]["decision"] == "identified"
    assert rows["alice.wav"]["speaker"] == "Alice" and float(rows["alice.wav"]["score"]) > 0.5
    assert rows["sub/bob.wav"]["decision"] == "unknown" and rows["sub/bob.wav"]["speaker"] == ""

    checked = cli_env / "check.csv"
    code, output = _batch(str(folder), "--check", "--out", str(checked))
    assert code == 1, output
    rows = _csv(checked)
    assert rows["alice.wav"]["speaker"] == "Alice" and rows["alice.wav"]["risk_level"]
    assert rows["alice.wav"]["spoof_probability"] == ""  # no detector under the test engine
    assert rows["sub/bob.wav"]["verdict"] and rows["notes.wav"]["status"] == "failed"
    assert _events() == {"identify": 2, "check": 2}

    # A results file of another mode is not mixed into.
    code, output = _batch(str(folder), "--check", "--out", str(identified))
    assert code == 2 and "holds other results" in output, output


def test_zip_input_and_unsafe_members(cli_env: Path) -> None:
    assert runner.invoke(app, ["enroll", "Alice", _write(cli_env, "a.wav")]).exit_code == 0
    archive = cli_env / "calls.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("day1/alice.wav", speaker_halves(0)[1])
        z.writestr("day1/notes.wav", NOT_AUDIO)
        z.writestr("index.txt", "not audio: skipped")
    out = cli_env / "zip.jsonl"
    code, output = _batch(str(archive), "--identify", "--out", str(out))
    assert code == 1, output
    records = {r["file"]: r for r in map(json.loads, out.read_text().splitlines())}
    assert records["day1/alice.wav"]["best"]["display_name"] == "Alice"
    assert records["day1/notes.wav"]["status"] == "failed"

    evil = cli_env / "evil.zip"
    with zipfile.ZipFile(evil, "w") as z:
        z.writestr("fine.wav", speaker_halves(0)[1])
        z.writestr("../evil.wav", speaker_halves(1)[0])
    out = cli_env / "evil.csv"
    code, output = _batch(str(evil), "--identify", "--out", str(out))
    assert code == 2 and "unsafe_archive" in output and "../evil.wav" in output, output
    assert not out.exists()
    assert _events() == {"identify": 1}  # the refused archive ran nothing


def test_a_missing_model_stops_the_run(cli_env: Path) -> None:
    folder = _folder(cli_env)  # the test engine comes without a spoof detector
    out = cli_env / "results.csv"
    code, output = _batch(str(folder), "--detect", "--out", str(out))
    assert code == 6 and "model_unavailable" in output, output
    assert not out.exists()  # not one failed row per file: nothing ran
    assert _events() == {}


def test_bad_arguments(cli_env: Path) -> None:
    folder = _folder(cli_env)
    code, output = _batch(str(folder), "--out", str(cli_env / "results.txt"))
    assert code == 2 and ".csv or .jsonl" in output, output
    code, output = _batch(str(folder), "--check", "--identify", "--out", str(cli_env / "r.csv"))
    assert code == 2 and "Choose one of" in output, output
    code, output = _batch(str(cli_env / "absent"), "--out", str(cli_env / "r.csv"))
    assert code == 2 and "No such folder" in output, output


def _write(root: Path, name: str) -> str:
    path = root / name
    path.write_bytes(speaker_halves(0)[0])
    return str(path)
