from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from tests.diarization.conversation import human_and_tts
from voxguard.cli.main import app

runner = CliRunner()


def test_a_file_played_as_a_live_call(cli_real_env: Path) -> None:
    enrollment, conversation = human_and_tts()
    (cli_real_env / "alice.wav").write_bytes(enrollment)
    (cli_real_env / "call.wav").write_bytes(conversation)
    assert runner.invoke(app, ["enroll", "Alice", str(cli_real_env / "alice.wav")]).exit_code == 0
    result = runner.invoke(app, ["stream", str(cli_real_env / "call.wav")])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if " s  " in line]
    assert lines[0].strip().startswith("1.0 s") and len(lines) >= 20
    assert "Alice" in result.output and "Synthetic voice suspected" in result.output
    assert "Call stored (event" in result.output


def test_a_file_or_the_microphone_not_both(cli_real_env: Path) -> None:
    neither = runner.invoke(app, ["stream"])
    assert neither.exit_code != 0 and "FILE" in neither.output
    missing = runner.invoke(app, ["stream", str(cli_real_env / "nope.wav")])
    assert missing.exit_code != 0 and "nope.wav" in missing.output


def test_a_file_played_as_opus_packets(cli_real_env: Path) -> None:
    enrollment, conversation = human_and_tts()
    (cli_real_env / "alice.wav").write_bytes(enrollment)
    (cli_real_env / "call.wav").write_bytes(conversation)
    assert runner.invoke(app, ["enroll", "Alice", str(cli_real_env / "alice.wav")]).exit_code == 0
    result = runner.invoke(app, ["stream", str(cli_real_env / "call.wav"), "--encoding", "opus"])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if " s  " in line]
    assert lines[0].strip().startswith("1.0 s") and len(lines) >= 20
    assert "Alice" in result.output and "Synthetic voice suspected" in result.output
    assert "Call stored (event" in result.output


def test_an_unknown_encoding_names_the_accepted_ones(cli_real_env: Path) -> None:
    (cli_real_env / "call.wav").write_bytes(human_and_tts()[1])
    result = runner.invoke(app, ["stream", str(cli_real_env / "call.wav"), "--encoding", "mp3"])
    assert result.exit_code == 2 and "pcm" in result.output and "opus" in result.output
