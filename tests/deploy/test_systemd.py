"""deploy/systemd: units systemd accepts, running commands the CLI has, with settings it knows."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from voxguard.cli.main import app
from voxguard.config import Settings

UNITS = Path(__file__).resolve().parents[2] / "deploy" / "systemd"
INSTALLED = "/opt/voxguard/venv/bin/voxguard"  # where docs/deployment.md installs it
SERVICES = ["voxguard.service", "voxguard-worker.service", "voxguard-prune.service"]


def _exec_starts(unit: str) -> list[list[str]]:
    lines = (UNITS / unit).read_text().splitlines()
    return [shlex.split(line.split("=", 1)[1]) for line in lines if line.startswith("ExecStart=")]


def test_systemd_accepts_the_units(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    # The same units with ExecStart pointing at this checkout's voxguard: systemd checks that
    # the command exists, and /opt/voxguard is only there once installed.
    here = str(Path(sys.executable).with_name("voxguard"))
    for unit in UNITS.iterdir():
        if unit.suffix in (".service", ".timer"):
            (tmp_path / unit.name).write_text(unit.read_text().replace(INSTALLED, here))
    units = sorted(str(p) for p in tmp_path.iterdir())
    assert len(units) == 4
    checked = subprocess.run(
        [analyze, "verify", *units], capture_output=True, text=True, timeout=120, check=False
    )
    # An unknown or misplaced directive is only a warning: it fails here too.
    assert checked.returncode == 0 and not checked.stderr.strip(), checked.stderr


@pytest.mark.parametrize("unit", SERVICES)
def test_every_command_is_one_the_cli_has(unit: str) -> None:
    commands = _exec_starts(unit)
    assert commands
    for command in commands:
        assert command[0] == INSTALLED
        # --help is eager: it parses the options given before it, then runs nothing.
        result = CliRunner().invoke(app, [*command[1:], "--help"])
        assert result.exit_code == 0, (command, result.output)


def test_the_api_and_the_worker_share_one_environment_file() -> None:
    files = {
        line.split("=", 1)[1]
        for unit in SERVICES
        for line in (UNITS / unit).read_text().splitlines()
        if line.startswith("EnvironmentFile=")
    }
    assert files == {"/etc/voxguard/voxguard.env"}
    assert _exec_starts("voxguard.service")[0][1] == "serve"
    assert _exec_starts("voxguard-worker.service")[0][1] == "worker"


def test_the_example_environment_names_only_real_settings() -> None:
    """A misspelt VOXGUARD_ variable would be ignored without a word: each one must be a
    setting."""
    lines = (UNITS / "voxguard.env.example").read_text().splitlines()
    names = [line.split("=", 1)[0] for line in lines if line and not line.startswith("#")]
    prefix = "VOXGUARD_"
    assert names and all(name.startswith(prefix) for name in names), names
    unknown = [n for n in names if n.removeprefix(prefix).lower() not in Settings.model_fields]
    assert not unknown
    for secret in ("VOXGUARD_ENCRYPTION_KEY", "VOXGUARD_JWT_SECRET"):
        assert f"{secret}=\n" in (UNITS / "voxguard.env.example").read_text()  # never a default
