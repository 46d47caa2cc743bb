import csv
import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from tests.conftest import encode_audio, shared_data
from voxguard.cli.main import app

runner = CliRunner()


def _manifest(tmp_path: Path) -> Path:
    libri = shared_data("librispeech")
    demos = shared_data("demos")
    rows = list(csv.DictReader((demos / "manifest.csv").open()))
    spoofs = [r for r in rows if r["label"] == "spoof"][:2]
    bona = sorted(libri.glob("*.flac"))[:2]
    out = tmp_path / "m.csv"
    with out.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["path", "label", "system"])
        for p in bona:
            w.writerow([os.path.relpath(p, tmp_path), "bonafide", "human"])
        for r in spoofs:
            w.writerow([os.path.relpath(demos / r["path"], tmp_path), "spoof", r["system"]])
    return out


def test_eval_cm_json_and_plot(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path)
    plot = tmp_path / "det.png"
    result = runner.invoke(
        app, ["eval", "cm", "--manifest", str(manifest), "--json", "--plot", str(plot)]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(report) >= {"eer", "min_dcf", "auc", "cllr", "per_system"}
    assert 0.0 <= report["eer"] <= 100.0  # percent, like eval sv
    assert all(0.0 <= v <= 100.0 for v in report["per_system"].values())
    assert len(report["per_system"]) >= 1
    assert plot.stat().st_size > 1000


def test_eval_cm_text(tmp_path: Path) -> None:
    manifest = str(_manifest(tmp_path))
    result = runner.invoke(app, ["eval", "cm", "--manifest", manifest])
    assert result.exit_code == 0, result.output
    assert "EER" in result.stdout and "Cllr" in result.stdout
    # The JSON report carries the same EER, in percent too.
    printed = float(re.search(r"EER ([0-9.]+)%", result.stdout).group(1))  # type: ignore[union-attr]
    as_json = runner.invoke(app, ["eval", "cm", "--manifest", manifest, "--json"])
    report = json.loads(as_json.stdout.strip().splitlines()[-1])
    assert abs(report["eer"] - printed) < 0.01


def test_eval_cm_rejects_bad_label(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("path,label\nx.wav,fake\n")
    result = runner.invoke(app, ["eval", "cm", "--manifest", str(bad)])
    assert result.exit_code == 2
    assert "bonafide" in result.output


def test_detect_json(tmp_path: Path) -> None:
    path = shared_data("librispeech", "103-1240-0000.flac")
    result = runner.invoke(app, ["detect", "--json", str(path)])
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout.strip().splitlines()[0])
    assert record["verdict"] in {"bonafide", "spoof"}
    assert 0 <= record["probability_spoof"] <= 1
    assert record["windows"]


def test_detect_text_and_too_short(tmp_path: Path) -> None:
    good = shared_data("librispeech", "103-1240-0000.flac")
    short = shared_data("fsdd", "0_george_0.wav")
    result = runner.invoke(app, ["detect", str(good), str(short)])
    assert result.exit_code == 1  # one of two files failed
    assert "P(spoof)" in result.stdout


def test_detect_takes_folders_and_sums_up(tmp_path: Path) -> None:
    import shutil

    calls = tmp_path / "calls"
    (calls / "older").mkdir(parents=True)
    shutil.copy(shared_data("librispeech", "103-1240-0000.flac"), calls / "a.flac")
    shutil.copy(shared_data("librispeech", "1034-121119-0000.flac"), calls / "older" / "b.flac")
    (calls / "notes.txt").write_text("not audio, not a name a recording has")
    empty = tmp_path / "empty"
    empty.mkdir()
    # wide enough that rich never wraps a long temporary path before its colon
    result = runner.invoke(app, ["detect", str(calls), str(empty)], env={"COLUMNS": "400"})
    assert result.exit_code == 1, result.output  # one of three failed: the empty folder
    text = " ".join(result.output.split())  # rich wraps long lines
    assert "a.flac: " in text and "b.flac: " in text and "notes.txt" not in text
    assert "(no_audio_files) No audio files in the folder" in text
    verdicts = re.findall(r"flac: (spoof|bonafide) P", text)
    summary = re.search(r"3 checked: (\d) spoof, (\d) bonafide, 1 failed", text)
    assert summary is not None, text
    assert int(summary.group(1)) == verdicts.count("spoof")
    assert int(summary.group(2)) == verdicts.count("bonafide")
    records = [
        json.loads(line)
        for line in runner.invoke(app, ["detect", "--json", str(calls)]).stdout.splitlines()
    ]
    assert [Path(r["file"]).name for r in records] == ["a.flac", "b.flac"]


def test_detect_says_when_what_it_scored_was_not_found_to_be_speech(tmp_path: Path) -> None:
    # Five seconds of white noise: the VAD finds no speech, so the detector scores all of it,
    # and the verdict line must not call that speech.
    noise = 0.1 * np.random.default_rng(0).standard_normal(5 * 16000)
    path = tmp_path / "noise.wav"
    path.write_bytes(encode_audio(noise.astype(np.float32), 16000, "wav", "pcm_s16le"))
    result = runner.invoke(app, ["detect", str(path)])
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())  # rich wraps long lines
    assert "5.0 s of sound scored whole: the VAD found too little speech in it" in text
    assert "s speech" not in text and "s of speech" not in text
    record = json.loads(runner.invoke(app, ["detect", "--json", str(path)]).stdout)
    assert record["used_vad"] is False


def test_detect_says_when_the_top_band_was_empty(tmp_path: Path) -> None:
    import soundfile as sf

    from tests.spoof.models import with_calibration_block
    from voxguard.audio import load_audio
    from voxguard.training.detector.augment import TEST_CHANNELS

    model_dir = with_calibration_block(
        tmp_path, "band_limited", {"scale": 0.5, "offset": -1.0, "below_top_band_db": -40.0}
    )
    samples = load_audio(shared_data("librispeech", "103-1240-0000.flac")).samples
    path = tmp_path / "voice-message.wav"
    sf.write(path, TEST_CHANNELS["mp3-64k"](samples), 16000, subtype="PCM_16")
    text = runner.invoke(app, ["detect", "--model-dir", str(model_dir), str(path)])
    assert text.exit_code == 0, text.output
    assert "top band empty (MP3 or low-pass)" in " ".join(text.stdout.split())  # rich wraps
    record = json.loads(
        runner.invoke(app, ["detect", "--json", "--model-dir", str(model_dir), str(path)]).stdout
    )
    assert record["channel"] == "band_limited"


def test_detect_and_eval_cm_use_another_model_dir(tmp_path: Path) -> None:
    import shutil

    from voxguard.models import bundled_model_path

    model_dir = tmp_path / "model"
    shutil.copytree(bundled_model_path("spoof"), model_dir)
    sidecar = json.loads((model_dir / "spoof_detector.json").read_text())
    sidecar["threshold"] = 0.0  # this copy calls everything synthetic
    sidecar.pop("thresholds", None)  # (no channel of its own overrides that)
    (model_dir / "spoof_detector.json").write_text(json.dumps(sidecar))
    path = shared_data("librispeech", "103-1240-0000.flac")
    bundled = json.loads(runner.invoke(app, ["detect", "--json", str(path)]).stdout.splitlines()[0])
    result = runner.invoke(app, ["detect", "--json", "--model-dir", str(model_dir), str(path)])
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout.strip().splitlines()[0])
    assert record["verdict"] == "spoof" and record["threshold"] == 0.0
    assert record["probability_spoof"] == bundled["probability_spoof"]
    manifest = str(_manifest(tmp_path))
    cm = runner.invoke(
        app, ["eval", "cm", "--manifest", manifest, "--json", "--model-dir", str(model_dir)]
    )
    assert cm.exit_code == 0, cm.output


def test_detect_names_a_missing_model_dir(tmp_path: Path) -> None:
    path = shared_data("librispeech", "103-1240-0000.flac")
    result = runner.invoke(app, ["detect", "--model-dir", str(tmp_path / "nope"), str(path)])
    assert result.exit_code != 0
    assert "spoof model" in result.output and "nope" in result.output


def test_eval_cm_compares_several_model_dirs_side_by_side(tmp_path: Path) -> None:
    import shutil

    from voxguard.models import bundled_model_path

    first, second = tmp_path / "a", tmp_path / "b"
    shutil.copytree(bundled_model_path("spoof"), first)
    shutil.copytree(bundled_model_path("spoof"), second)
    sidecar = json.loads((second / "spoof_detector.json").read_text())
    # Shifts every log-odds, whichever calibration a file gets; ranks (EER) unchanged.
    calibration = sidecar["calibration"]
    blocks = ("narrowband", "band_limited", "short_speech")
    for block in (calibration, *(calibration.get(name) for name in blocks)):
        if block:
            block["offset"] += 1.0
    (second / "spoof_detector.json").write_text(json.dumps(sidecar))
    args = ["eval", "cm", "--manifest", str(_manifest(tmp_path))]
    dirs = ["--model-dir", str(first), "--model-dir", str(second)]
    result = runner.invoke(app, [*args, "--json", *dirs, "--plot", str(tmp_path / "det.png")])
    assert result.exit_code == 0, result.output
    models = json.loads(result.stdout)["models"]
    assert [m["model_dir"] for m in models] == [str(first), str(second)]
    assert models[0]["eer"] == models[1]["eer"]
    assert models[0]["cllr"] != models[1]["cllr"]
    assert (tmp_path / "det.png").stat().st_size > 0
    text = runner.invoke(app, [*args, *dirs])
    assert text.exit_code == 0, text.output
    assert "EER %" in text.stdout and str(first.name) in text.stdout


def test_plot_legends_name_model_folders_by_their_shortest_distinct_suffix() -> None:
    from voxguard.cli.spoof import short_names

    assert short_names(["runs/fold-a/fusion", "runs/fold-a/baseline"]) == ["fusion", "baseline"]
    assert short_names(["a/fusion", "b/fusion"]) == ["a/fusion", "b/fusion"]


def test_detect_shows_the_classical_tts_heads_share(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.spoof.models import OPEN_GATES, with_classical_head
    from voxguard.config import get_settings

    model_dir = with_classical_head(tmp_path, np.zeros(892), 3.0, OPEN_GATES)
    path = str(shared_data("librispeech", "103-1240-0000.flac"))
    off = runner.invoke(app, ["detect", "--json", "--model-dir", str(model_dir), path])
    assert json.loads(off.stdout.strip().splitlines()[-1]).get("classical_tts_probability") is None
    monkeypatch.setenv("VOXGUARD_SPOOF_CLASSICAL_HEAD", "true")  # off by default
    get_settings.cache_clear()
    try:
        _head_share_is_shown(model_dir, path)
    finally:
        monkeypatch.delenv("VOXGUARD_SPOOF_CLASSICAL_HEAD")
        get_settings.cache_clear()


def _head_share_is_shown(model_dir: Path, path: str) -> None:
    result = runner.invoke(app, ["detect", "--json", "--model-dir", str(model_dir), path])
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout.strip().splitlines()[-1])
    head = 1 / (1 + np.exp(-3.0))
    assert record["classical_tts_probability"] == round(head, 4)
    assert record["probability_spoof"] >= record["probability_main_model"]
    text = runner.invoke(app, ["detect", "--model-dir", str(model_dir), path])
    assert f"classical TTS: {head:.3f}" in text.stdout
