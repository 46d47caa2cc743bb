from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.api.audio import silence, speaker_halves
from voxguard.cli.main import app

runner = CliRunner()


def _files(tmp: Path) -> dict[str, Path]:
    paths = {}
    for name, data in {
        "alice1": speaker_halves(0)[0],
        "alice2": speaker_halves(0)[1],
        "bob": speaker_halves(1)[0],
        "carol": speaker_halves(3)[0],
        "silence": silence(),
    }.items():
        path = tmp / f"{name}.wav"
        path.write_bytes(data)
        paths[name] = path
    return paths


def _names() -> list[str]:
    result = runner.invoke(app, ["users", "list", "--json"])
    assert result.exit_code == 0, result.output
    return [s["display_name"] for s in json.loads(result.output)["items"]]


def test_enroll_verify_identify_users(cli_env: Path) -> None:
    f = _files(cli_env)
    result = runner.invoke(app, ["enroll", "Alice", str(f["alice1"])])
    assert result.exit_code == 0, result.output
    assert "Enrolled Alice" in result.output
    assert runner.invoke(app, ["enroll", "Bob", str(f["bob"])]).exit_code == 0
    assert _names() == ["Alice", "Bob"]

    verify = runner.invoke(app, ["verify", "alice", str(f["alice1"]), "--json"])
    assert verify.exit_code == 0, verify.output
    assert json.loads(verify.output)["decision"] == "accept"
    identify = runner.invoke(app, ["identify", str(f["alice1"])])
    assert "Identified Alice" in identify.output

    show = runner.invoke(app, ["users", "show", "Bob"])
    assert show.exit_code == 0 and "behavior_profile" in show.output
    assert runner.invoke(app, ["users", "delete", "Bob", "--yes"]).exit_code == 0
    assert _names() == ["Alice"]


def test_errors_map_to_exit_codes(cli_env: Path) -> None:
    f = _files(cli_env)
    missing = runner.invoke(app, ["verify", "Nobody", str(f["alice1"])])
    assert missing.exit_code == 4 and "speaker_not_found" in missing.output
    silent = runner.invoke(app, ["enroll", "Quiet", str(f["silence"])])
    assert silent.exit_code == 2 and "no speech" in silent.output
    absent = runner.invoke(app, ["check", str(cli_env / "absent.wav"), "--no-input"])
    assert absent.exit_code == 2 and "not found" in absent.output
    assert _names() == []


def test_check_recognized_prints_user_and_scores(cli_env: Path) -> None:
    f = _files(cli_env)
    runner.invoke(app, ["enroll", "Alice", str(f["alice1"])])
    result = runner.invoke(app, ["check", str(f["alice1"])])
    assert result.exit_code == 0, result.output
    assert "speaker: Alice" in result.output
    assert "voice similarity" in result.output and "spoof probability" in result.output
    assert "unavailable" in result.output  # no spoof model: said, not faked
    assert "Enroll" not in result.output


def test_check_unknown_asks_name_then_confirmation(cli_env: Path) -> None:
    f = _files(cli_env)
    runner.invoke(app, ["enroll", "Alice", str(f["alice1"])])
    result = runner.invoke(app, ["check", str(f["carol"])], input="y\nCarol\ny\n")
    assert result.exit_code == 0, result.output
    assert "Warning: unknown voice" in result.output
    for cause in ("new user", "impersonation attempt", "poor audio"):
        assert cause in result.output
    assert "Name of the new speaker" in result.output and "Enroll 'Carol'" in result.output
    assert "Enrolled Carol" in result.output
    assert _names() == ["Alice", "Carol"]
    again = runner.invoke(app, ["check", str(f["carol"])])
    assert "speaker: Carol" in again.output


def test_check_unknown_declined_at_either_step_enrolls_nobody(cli_env: Path) -> None:
    f = _files(cli_env)
    runner.invoke(app, ["enroll", "Alice", str(f["alice1"])])
    first = runner.invoke(app, ["check", str(f["carol"])], input="n\n")
    assert first.exit_code == 0 and "Not enrolled" in first.output
    assert "Name of the new speaker" not in first.output
    second = runner.invoke(app, ["check", str(f["carol"])], input="y\nCarol\nn\n")
    assert second.exit_code == 0 and "Not enrolled" in second.output
    assert _names() == ["Alice"]


def test_check_never_prompts_with_no_input_or_yes(cli_env: Path) -> None:
    f = _files(cli_env)
    runner.invoke(app, ["enroll", "Alice", str(f["alice1"])])
    quiet = runner.invoke(app, ["check", str(f["carol"]), "--no-input"])
    assert quiet.exit_code == 0 and "Enroll this voice" not in quiet.output
    assert "Not enrolling (--no-input)" in quiet.output
    yes_without_name = runner.invoke(app, ["check", str(f["carol"]), "--yes"])
    assert "--yes needs --name" in yes_without_name.output
    assert "Enroll this voice" not in yes_without_name.output
    assert _names() == ["Alice"]
    scripted = runner.invoke(app, ["check", str(f["carol"]), "--yes", "--name", "Carol"])
    assert scripted.exit_code == 0 and "Enrolled Carol" in scripted.output
    assert _names() == ["Alice", "Carol"]


def test_alerts_and_keys(cli_env: Path) -> None:
    f = _files(cli_env)
    runner.invoke(app, ["enroll", "Alice", str(f["alice1"])])
    runner.invoke(app, ["check", str(f["carol"]), "--no-input"])
    listed = json.loads(
        runner.invoke(app, ["alerts", "list", "--json", "--status", "PENDING"]).output
    )
    assert len(listed) == 1 and listed[0]["level"] == "MEDIUM"
    alert_id = listed[0]["id"]
    assert runner.invoke(app, ["alerts", "ack", alert_id, "--note", "on it"]).exit_code == 0
    assert runner.invoke(app, ["alerts", "resolve", alert_id]).exit_code == 0
    done = json.loads(runner.invoke(app, ["alerts", "list", "--json"]).output)[0]
    assert done["status"] == "RESOLVED" and done["changed_by"].startswith("cli")
    assert done["note"] == "on it"
    reopened = runner.invoke(app, ["alerts", "ack", alert_id])
    assert reopened.exit_code == 5 and "cannot become" in reopened.output

    created = runner.invoke(app, ["keys", "create", "ci", "--role", "operator"])
    assert created.exit_code == 0, created.output
    secret = created.output.strip().splitlines()[-1]
    assert secret.startswith("vg_")
    keys = json.loads(runner.invoke(app, ["keys", "list", "--json"]).output)
    assert [k["name"] for k in keys] == ["ci"] and secret not in json.dumps(keys)
    assert runner.invoke(app, ["keys", "revoke", "ci"]).exit_code == 0
    assert json.loads(runner.invoke(app, ["keys", "list", "--json"]).output)[0]["revoked_at"]


def test_cert_writes_a_self_signed_pair(tmp_path: Path) -> None:
    from cryptography import x509

    result = runner.invoke(
        app, ["cert", "--out-dir", str(tmp_path), "--hostname", "voxguard.local"]
    )
    assert result.exit_code == 0, result.output
    cert = x509.load_pem_x509_certificate((tmp_path / "cert.pem").read_bytes())
    assert "voxguard.local" in cert.subject.rfc4514_string()
    assert (tmp_path / "key.pem").stat().st_mode & 0o077 == 0


def test_invalid_settings_are_a_configuration_error(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from voxguard.config import get_settings

    monkeypatch.setenv("VOXGUARD_ENVIRONMENT", "production")
    get_settings.cache_clear()
    result = runner.invoke(app, ["users", "list"])
    assert result.exit_code == 7
    assert "VOXGUARD_JWT_SECRET must be set outside development" in " ".join(result.output.split())


def test_an_unknown_speaker_model_names_the_setting_and_the_choices(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from voxguard.config import get_settings

    monkeypatch.setenv("VOXGUARD_SPEAKER_MODEL", "xvector")
    get_settings.cache_clear()
    result = runner.invoke(app, ["compare", "a.wav", "b.wav"])
    assert result.exit_code == 7
    text = " ".join(result.output.split())
    assert "VOXGUARD_SPEAKER_MODEL: Input should be 'campplus' or 'ge2e'" in text
