"""``voxguard eval diar`` through Typer's CliRunner: a double diarizer, and the real one on one
composed conversation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from voxguard.audio.types import AudioSource
from voxguard.cli.main import app
from voxguard.diarization import Diarization, Turn, to_rttm
from voxguard.evaluation.diarization import read_reference

runner = CliRunner()
KEYS = {"der", "missed", "false_alarm", "confusion", "files", "speech_s"}


class OracleDiarizer:
    """The reference next to the audio, relabelled, or all of it given to one speaker."""

    def __init__(self, one_speaker: bool = False) -> None:
        self.one_speaker = one_speaker
        self.counts: list[int | None] = []

    def diarize(self, source: AudioSource, num_speakers: int | None = None) -> Diarization:
        self.counts.append(num_speakers)
        rttm = Path(str(source)).with_suffix(".rttm")
        turns = [
            Turn(t.start_s, t.end_s, "S1" if self.one_speaker else "S" + t.speaker)
            for t in read_reference(rttm, rttm.stem)
        ]
        return Diarization(turns, 30.0)


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    for name, turns in {
        "a": [Turn(0.0, 10.0, "A"), Turn(9.0, 20.0, "B")],
        "b": [Turn(1.0, 5.0, "C"), Turn(6.0, 12.0, "D"), Turn(13.0, 20.0, "C")],
    }.items():
        (tmp_path / f"{name}.wav").write_bytes(b"RIFF")  # the doubles never decode it
        (tmp_path / f"{name}.rttm").write_text(to_rttm(Diarization(turns, 20.0), name))
    path = tmp_path / "manifest.csv"
    path.write_text("audio,rttm\na.wav,a.rttm\nb.wav,b.rttm\n")
    return path


def _use(monkeypatch: pytest.MonkeyPatch, diarizer: OracleDiarizer) -> None:
    monkeypatch.setattr("voxguard.cli.evaluate.load_diarizer", lambda: diarizer)


def test_json_report(manifest: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    oracle = OracleDiarizer()
    _use(monkeypatch, oracle)
    result = runner.invoke(app, ["eval", "diar", "--manifest", str(manifest), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert set(report) == KEYS
    assert report["der"] == 0 and report["files"] == 2 and report["speech_s"] > 30
    assert oracle.counts == [None, None]


def test_oracle_speaker_count_and_errors(manifest: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    merged = OracleDiarizer(one_speaker=True)
    _use(monkeypatch, merged)
    args = ["eval", "diar", "--manifest", str(manifest), "--json", "--num-speakers-given"]
    report = json.loads(runner.invoke(app, args).stdout)
    assert merged.counts == [2, 2]
    assert report["confusion"] > 0 and report["missed"] > 0  # one voice for two, overlap lost
    assert report["der"] == pytest.approx(
        report["missed"] + report["false_alarm"] + report["confusion"], abs=0.01
    )


def test_tables(manifest: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _use(monkeypatch, OracleDiarizer())
    result = runner.invoke(app, ["eval", "diar", "--manifest", str(manifest), "--per-file"])
    assert result.exit_code == 0, result.output
    assert "DER %" in result.stdout and "a.wav" in result.stdout and "2/2" in result.stdout


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("path,label\na.wav,bonafide\n", "audio,rttm"),
        ("audio,rttm\nnowhere.wav,a.rttm\n", "not found"),
        ("audio,rttm\na.wav,broken.rttm\n", "not valid RTTM"),
    ],
)
def test_bad_manifest_exit_code(
    tmp_path: Path, manifest: Path, content: str, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _use(monkeypatch, OracleDiarizer())
    (tmp_path / "broken.rttm").write_text("SPEAKER a 1\n")
    bad = tmp_path / "bad.csv"
    bad.write_text(content)
    result = runner.invoke(app, ["eval", "diar", "--manifest", str(bad), "--json"])
    assert result.exit_code == 2
    assert "invalid_manifest" in result.output and message in " ".join(result.output.split())


def test_real_diarizer_on_a_composed_conversation(conversation_set: Path) -> None:
    pytest.importorskip("voxguard.diarization.pipeline")
    manifest = conversation_set / "clean" / "manifest.csv"
    result = runner.invoke(app, ["eval", "diar", "--manifest", str(manifest), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert set(report) == KEYS and report["files"] == 1
    assert 0 <= report["der"] < 100 and report["speech_s"] > 30
