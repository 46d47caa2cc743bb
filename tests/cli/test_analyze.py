from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from tests.diarization.conversation import human_and_tts
from voxguard.cli.main import app
from voxguard.diarization import parse_rttm

runner = CliRunner()


def test_analyze_prints_turns_and_writes_rttm(cli_real_env: Path) -> None:
    cli_env = cli_real_env
    enrollment, conversation = human_and_tts()
    (cli_env / "alice.wav").write_bytes(enrollment)
    (cli_env / "call.wav").write_bytes(conversation)
    assert runner.invoke(app, ["enroll", "Alice", str(cli_env / "alice.wav")]).exit_code == 0

    rttm = cli_env / "call.rttm"
    result = runner.invoke(
        app,
        ["analyze", str(cli_env / "call.wav"), "--json", "--rttm", str(rttm), "--speakers", "2"],
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["num_speakers"] == 2 and {s["display_name"] for s in body["speakers"]} == {
        "Alice",
        None,
    }
    written = parse_rttm(rttm.read_text())["call"]
    assert [(t.start_s, t.speaker) for t in written] == [
        (t["start_s"], t["speaker"]) for t in body["turns"]
    ]

    # Left to estimate the count, the TTS voice may be split in two; the rest holds.
    table = runner.invoke(app, ["analyze", str(cli_env / "call.wav")])
    assert table.exit_code == 0 and "Alice" in table.output and "synthetic" in table.output
    missing = runner.invoke(app, ["analyze", str(cli_env / "nope.wav")])
    assert missing.exit_code != 0 and "nope.wav" in missing.output
