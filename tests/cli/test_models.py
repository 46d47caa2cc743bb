"""``voxguard retrain --data DIR`` (in-process) and ``voxguard models list|show|promote|
rollback`` on the data dir the CLI sees."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.models_data import labelled_shared_folder
from voxguard.cli.main import app

runner = CliRunner()


def test_retrain_then_promote_and_roll_back(cli_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOXGUARD_MAX_UPLOAD_MB", "20")
    folder = labelled_shared_folder(cli_env / "calls", per_class=10)
    # A regression set that shares 4 + 4 recordings with the upload: they are left out of
    # training, so 6 + 6 remain to train and hold out.
    overlap = labelled_shared_folder(cli_env / "regression", per_class=4)
    stored = runner.invoke(app, ["datasets", "upload", str(overlap), "--json"])
    assert stored.exit_code == 0, stored.output
    regression = json.loads(stored.output)["id"]
    trained = runner.invoke(
        app, ["retrain", "--data", str(folder), "--regression", regression, "--json"]
    )
    assert trained.exit_code == 0, trained.output
    candidate = json.loads(trained.output.splitlines()[-1])
    version = candidate["version"]
    assert candidate["status"] == "candidate" and candidate["metrics"]["held_out"]["files"] == 4
    assert candidate["data_summary"]["left_out_for_regression_set"] == 8
    assert candidate["data_summary"]["used"] == 12
    assert candidate["metrics"]["regression_set"]["files"] == 8

    listed = runner.invoke(app, ["models", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    statuses = {m["version"]: m["status"] for m in json.loads(listed.output)}
    assert statuses == {"bundled": "active", version: "candidate"}
    assert runner.invoke(app, ["models", "list"]).exit_code == 0
    shown = runner.invoke(app, ["models", "show", "spoof", version])
    assert shown.exit_code == 0 and "held-out EER" in shown.output
    assert "regression" in shown.output

    promoted = runner.invoke(app, ["models", "promote", "spoof", version, "--force"])
    assert promoted.exit_code == 0 and "is active" in promoted.output, promoted.output
    again = runner.invoke(app, ["models", "promote", "spoof", version])
    assert again.exit_code != 0 and "active already" in again.output
    back = runner.invoke(app, ["models", "rollback", "spoof"])
    assert back.exit_code == 0 and "bundled" in back.output
    nothing = runner.invoke(app, ["models", "rollback", "spoof"])
    assert nothing.exit_code != 0 and "invalid_transition" in nothing.output
