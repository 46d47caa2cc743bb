"""``voxguard embed``, ``compare`` and ``eval sv`` through Typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from tests.conftest import shared_data
from voxguard.cli.main import app

runner = CliRunner()
A, B = "103-1240-0000.flac", "1034-121119-0000.flac"


def test_embed_prints_the_default_models_vector() -> None:
    path = shared_data("librispeech", A)
    result = runner.invoke(app, ["embed", str(path), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert len(report["embedding"]) == 192 and report["speech_s"] > 5  # CAM++


def test_compare_same_and_different_speaker() -> None:
    a, b = shared_data("librispeech", A), shared_data("librispeech", B)
    same = json.loads(runner.invoke(app, ["compare", str(a), str(a), "--json"]).stdout)
    other = json.loads(runner.invoke(app, ["compare", str(a), str(b), "--json"]).stdout)
    assert same["accepted"] and same["decision"] == "same speaker"
    assert not other["accepted"] and other["probability"] < same["probability"]
    table = runner.invoke(app, ["compare", str(a), str(b)])
    assert table.exit_code == 0 and "different speakers" in table.stdout


def test_compare_bad_audio_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio at all")
    result = runner.invoke(app, ["compare", str(bad), str(bad)])
    assert result.exit_code == 2
    assert "accepted" in result.output.lower()


def _fsdd_subset(tmp_path: Path) -> Path:
    source = shared_data("fsdd")
    folder = tmp_path / "fsdd"
    folder.mkdir()
    for speaker in ("george", "jackson", "lucas", "nicolas", "theo", "yweweler"):
        for digit in (0, 1):
            for index in (0, 5, 6, 7):
                name = f"{digit}_{speaker}_{index}.wav"
                (folder / name).symlink_to(source / name)
    return folder


def test_eval_sv_trials_csv(tmp_path: Path) -> None:
    fsdd = _fsdd_subset(tmp_path)
    lines = ["enroll,test,label"]
    for spk in ("george", "jackson", "lucas"):
        enroll = ";".join(f"fsdd/{d}_{spk}_{i}.wav" for d in (0, 1) for i in (5, 6))
        for other in ("george", "jackson", "lucas"):
            lines.append(f"{enroll},fsdd/0_{other}_0.wav,{int(spk == other)}")
    csv_path = fsdd.parent / "trials.csv"
    csv_path.write_text("\n".join(lines) + "\n")
    result = runner.invoke(app, ["eval", "sv", "--trials", str(csv_path), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert set(report) == {"eer", "min_dcf", "cllr", "n_target", "n_nontarget"}
    assert report["n_target"] == 3 and report["n_nontarget"] == 6
    assert 0.0 <= report["eer"] <= 100.0


def test_eval_sv_fsdd_protocol(tmp_path: Path) -> None:
    result = runner.invoke(app, ["eval", "sv", "--fsdd", str(_fsdd_subset(tmp_path))])
    assert result.exit_code == 0, result.output
    assert "EER" in result.stdout


def test_eval_sv_needs_one_source(tmp_path: Path) -> None:
    result = runner.invoke(app, ["eval", "sv"])
    assert result.exit_code == 2
    missing = runner.invoke(app, ["eval", "sv", "--trials", str(tmp_path / "none.csv")])
    assert missing.exit_code == 2 and "not found" in missing.output
