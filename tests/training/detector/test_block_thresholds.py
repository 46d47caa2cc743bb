import json
import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

from voxguard.models import bundled_model_path
from voxguard.spoof.sidecar import load_sidecar
from voxguard.training.detector.block_thresholds import (
    error_table,
    fit_thresholds,
    main,
    sample_clips,
    threshold_flagging_at_most,
    write_thresholds,
)
from voxguard.training.detector.data import REALWORLD_PREFIX, Clip


def test_the_threshold_flags_at_most_alpha_of_the_genuine_clips() -> None:
    genuine = np.linspace(0.0, 0.99, 100)
    t = threshold_flagging_at_most(genuine, 0.03)
    assert (genuine >= t).sum() == 3
    assert (genuine >= np.nextafter(t, -np.inf)).sum() == 4  # the lowest such threshold
    assert threshold_flagging_at_most(genuine, 0.0) > genuine.max()
    assert threshold_flagging_at_most(np.array([0.2]), 1.0) == 0.0


def test_sample_caps_genuine_and_spoof_clips_per_source_and_skips_other_groups() -> None:
    clips = [
        Clip(Path(f"{g}/{i:03d}.wav"), y, "x", group)
        for g, group in (("d", "demos:r"), ("a", f"{REALWORLD_PREFIX}a"))
        for y in (0, 1)
        for i in range(8)
    ]
    clips += [
        Clip(Path("v/0.wav"), 1, "x", "vocoded:demos:r"),
        Clip(Path("l.wav"), 0, "h", "librispeech"),
    ]
    kept = sample_clips(clips, genuine=5, spoof=2)
    for group in ("demos:r", f"{REALWORLD_PREFIX}a"):
        assert sum(c.group == group and c.label == 0 for c in kept) == 5
        assert [c.path.name for c in kept if c.group == group and c.label == 1] == [
            "000.wav",
            "001.wav",
        ]
    assert len(kept) == 14


def _rows(rng: np.random.Generator) -> list[tuple[str, str, int, float]]:
    # Clean genuine speech scores low; MP3 shifts genuine speech up, so its block needs a
    # higher threshold; too few narrowband clips to fit one.
    rows = [("clean", "wideband", 0, float(p)) for p in rng.uniform(0.0, 0.6, 200)]
    rows += [("mp3-64k", "band_limited", 0, float(p)) for p in rng.uniform(0.2, 0.9, 200)]
    rows += [("mp3-32k", "band_limited", 0, float(p)) for p in rng.uniform(0.1, 0.7, 200)]
    rows += [("amr-nb", "narrowband", 0, float(p)) for p in rng.uniform(0.0, 1.0, 10)]
    rows += [
        (c, b, 1, float(p))
        for c, b in (("clean", "wideband"), ("mp3-64k", "band_limited"))
        for p in rng.uniform(0.4, 1.0, 100)
    ]
    return rows


def test_each_block_takes_its_strictest_channel_and_never_falls_below_the_floor() -> None:
    rows = _rows(np.random.default_rng(0))
    fitted = fit_thresholds(rows, alpha=0.03, floor=0.5, min_genuine=50)
    assert set(fitted) == {"wideband", "band_limited"}  # narrowband: 10 genuine clips only
    limited = fitted["band_limited"]
    assert limited["threshold"] == max(v["threshold"] for v in limited["by_channel"].values())
    mp3 = np.array([p for c, _, y, p in rows if c == "mp3-64k" and y == 0])
    assert (mp3 >= limited["threshold"]).mean() <= 0.03
    assert fitted["wideband"]["threshold"] >= 0.5


def test_the_error_table_compares_the_block_thresholds_with_the_single_one() -> None:
    rows = _rows(np.random.default_rng(1))
    thresholds = {b: v["threshold"] for b, v in fit_thresholds(rows, 0.03, 0.5, 50).items()}
    table = error_table(rows, thresholds, floor=0.5)
    mp3 = table["mp3-64k"]
    assert mp3["genuine_flagged_new"] <= 0.03 < mp3["genuine_flagged_before"]
    assert mp3["spoof_missed_new"] >= mp3["spoof_missed_before"]
    assert table["pooled"]["genuine"] == 610 and table["pooled"]["spoof"] == 200
    assert table["amr-nb"]["genuine_flagged_new"] == table["amr-nb"]["genuine_flagged_before"]


def test_written_thresholds_load_and_move_the_version(tmp_path: Path) -> None:
    model_dir = tmp_path / "model"
    shutil.copytree(bundled_model_path("spoof"), model_dir)
    before = load_sidecar(model_dir / "spoof_detector.json")
    fitted = {"wideband": {"threshold": 0.71234567}, "narrowband": {"threshold": 0.8}}
    write_thresholds(model_dir, fitted, "a test")
    after = load_sidecar(model_dir / "spoof_detector.json")
    # A block not refitted keeps its threshold, and the note says what each came from.
    kept = {b: t for b, t in before.thresholds.items() if b not in fitted}
    assert after.thresholds == kept | {"wideband": 0.7123, "narrowband": 0.8}
    assert after.version.startswith(before.version + ".op")
    note = json.loads((model_dir / "spoof_detector.json").read_text())["thresholds_fitted_on"]
    assert note.endswith("; a test") if kept else note == "a test"


def test_the_short_speech_block_is_fitted_only_on_the_short_excerpts() -> None:
    rng = np.random.default_rng(2)
    rows = _rows(rng)
    # Short excerpts score genuine speech higher than any whole clip.
    rows += [("short:clean", "short_speech", 0, float(p)) for p in rng.uniform(0.3, 0.95, 100)]
    rows += [("short:amr-nb", "short_speech", 0, float(p)) for p in rng.uniform(0.2, 0.8, 100)]
    fitted = fit_thresholds(rows, 0.05, 0.5, 50, blocks=("short_speech",))
    assert set(fitted) == {"short_speech"}
    assert set(fitted["short_speech"]["by_channel"]) == {"short:clean", "short:amr-nb"}
    clean = np.array([p for c, _, _, p in rows if c == "short:clean"])
    assert (clean >= fitted["short_speech"]["threshold"]).mean() <= 0.05
    assert fitted["short_speech"]["threshold"] > 0.8


def test_an_unknown_block_is_refused_with_the_accepted_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--cache", "c.npz", "--model-dir", "m", "--work", "w", "--out", str(tmp_path)]
    with pytest.raises(SystemExit):
        main([*args, "--blocks", "short_speech,phone"])
    err = capsys.readouterr().err
    assert "unknown ['phone']" in err
    assert "accepted: wideband, narrowband, band_limited, short_speech" in err
