from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from tests.datasets import LABELS, labelled_folder, labelled_zip, labels_csv, recordings
from voxguard.cli.main import app

runner = CliRunner()


def _json(*args: str) -> dict:  # type: ignore[type-arg]
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    parsed: dict = json.loads(result.output)  # type: ignore[type-arg]
    return parsed


def test_upload_list_show_delete_purge(cli_env: Path) -> None:
    folder = labelled_folder(cli_env / "calls", recordings(0))
    archive = cli_env / "more.zip"
    archive.write_bytes(labelled_zip(recordings(2)))

    result = runner.invoke(app, ["datasets", "upload", str(folder)])
    assert result.exit_code == 0, result.output
    assert "Stored calls" in result.output and "4 recordings" in result.output
    zipped = _json("datasets", "upload", str(archive), "--name", "second")
    assert zipped["name"] == "second" and zipped["source"] == "zip"

    listed = _json("datasets", "list")
    assert listed["total"] == 2 and [d["name"] for d in listed["items"]] == ["second", "calls"]
    table = runner.invoke(app, ["datasets", "list"])
    assert "2 datasets" in table.output
    shown = runner.invoke(app, ["datasets", "show", zipped["id"]])
    assert shown.exit_code == 0 and "fake1.wav" in shown.output and "tts-a 1" in shown.output

    assert runner.invoke(app, ["datasets", "delete", zipped["id"], "--yes"]).exit_code == 0
    missing = runner.invoke(app, ["datasets", "show", zipped["id"]])
    assert missing.exit_code == 4 and "dataset_not_found" in missing.output

    purged = _json("datasets", "purge")
    assert purged["datasets"] == [] and purged["retention_days"] == 365
    assert len(list((cli_env / "data" / "datasets" / "blobs").rglob("*.*"))) == 0
    assert (
        len([p for p in (cli_env / "data" / "datasets" / "blobs").rglob("*") if p.is_file()]) == 4
    )


def test_refused_upload_exits_2_and_names_the_row(cli_env: Path) -> None:
    csv = labels_csv(LABELS | {"real2.wav": "human"})
    folder = labelled_folder(cli_env / "bad", recordings(0), csv)
    result = runner.invoke(app, ["datasets", "upload", str(folder)])
    assert result.exit_code == 2
    assert "invalid_labels" in result.output and "labels.csv row 3" in result.output
    assert _json("datasets", "list")["total"] == 0
    no_csv = cli_env / "plain"
    no_csv.mkdir()
    (no_csv / "a.wav").write_bytes(recordings(0)["real1.wav"])
    result = runner.invoke(app, ["datasets", "upload", str(no_csv)])
    assert result.exit_code == 2 and "No labels.csv in the folder" in result.output
