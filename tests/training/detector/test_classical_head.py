import csv
from pathlib import Path

import numpy as np
import pytest

from voxguard.spoof import SpoofDetector
from voxguard.training.detector.classical_data import (
    ENGINES,
    GENUINE,
    Features,
    diarization_readers,
    fit_readers,
    select_clips,
)
from voxguard.training.detector.classical_head import (
    GATE_QUANTILE,
    fit_head,
    leave_one_engine_out,
    window_weights,
)
from voxguard.training.manifest import COLUMNS

DIMS = 12


def _features(seed: int = 0) -> Features:
    """Genuine readers and three engines, each clip heard through a few copies; TTS windows
    shifted along the first statistic, genuine ones centred."""
    rng = np.random.default_rng(seed)
    views: list[tuple[str, str, str, str]] = []
    for reader in range(20):
        for copy in ("clean", "aug1", "aug2", "amr-nb", "mp3-64k"):
            channel = "narrowband" if copy == "amr-nb" else "wideband"
            views.append((GENUINE, f"r{reader}", copy, channel))
    for engine in ENGINES[:3]:
        for clip in range(15):
            for copy in ("clean", "aug1", "aug2", "amr-nb"):
                channel = "narrowband" if copy == "amr-nb" else "wideband"
                views.append((engine, f"{engine}/{clip}", copy, channel))
    stats, window_view = [], []
    for index, (engine, _, _, _) in enumerate(views):
        x = rng.standard_normal((3, DIMS))
        if engine != GENUINE:
            x[:, 0] += 4.0
        stats.append(x)
        window_view += [index] * 3
    engines, groups, copies, channels = (np.array(column) for column in zip(*views, strict=True))
    return Features(
        stats=np.concatenate(stats).astype(np.float32),
        window_view=np.array(window_view),
        main_logits=np.full(len(window_view), -3.0, np.float32),
        view_engine=engines,
        view_group=groups,
        view_copy=copies,
        view_channel=channels,
        view_short=np.zeros(len(views), bool),
        view_path=np.array([f"{g}:{c}" for g, c in zip(groups, copies, strict=True)]),
    )


def test_each_engine_weighs_the_same_and_genuine_as_much_as_all_of_them() -> None:
    engines = np.array([GENUINE] * 10 + ["flite"] * 30 + ["pico"] * 5)
    w = window_weights(engines)
    assert w.mean() == pytest.approx(1.0)
    assert w[engines == GENUINE].sum() == pytest.approx(w[engines != GENUINE].sum())
    assert w[engines == "flite"].sum() == pytest.approx(w[engines == "pico"].sum())


def test_the_head_separates_and_its_gates_spare_genuine_windows() -> None:
    features = _features()
    head = fit_head(features, np.ones(features.view_path.size, bool))
    logits = head.model.logit(features.stats)
    tts = features.view_label[features.window_view] == 1
    assert logits[tts].mean() > logits[~tts].mean() + 3
    assert head.scale > 0
    assert set(head.gates) == {"wideband", "band_limited", "narrowband"}
    # The gate is at least the out-of-fold quantile of genuine windows; in sample, the fitted
    # model puts few genuine windows above it and most TTS windows.
    for block in ("wideband", "narrowband"):
        routed = features.view_channel[features.window_view] == block
        genuine = logits[~tts & routed]
        assert (genuine >= head.gates[block]).mean() <= 1 - GATE_QUANTILE + 0.02
        assert (logits[tts & routed] >= head.gates[block]).mean() > 0.8


def test_leave_one_engine_out_scores_every_held_out_engine_clean_and_through_amr_nb() -> None:
    features = _features()
    report = leave_one_engine_out(features, SpoofDetector(classical_head=False))
    assert sorted(report) == sorted(ENGINES[:3])
    for fold in report.values():
        for copy in ("clean", "amr-nb"):
            assert fold[copy]["files"] == 15
            assert fold[copy]["detected_without_head"] == 0.0  # main logits are all -3
            assert fold[copy]["detected_with_head"] >= fold[copy]["detected_without_head"]
            assert fold[copy]["detected_with_head"] > 0.5


def test_the_fitted_head_installs_next_to_the_model_and_loads(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from voxguard.models import bundled_model_path
    from voxguard.training.detector.classical_export import install_head

    rng = np.random.default_rng(1)
    features = _features()
    # The detector feeds the head 892 statistics: pad the synthetic ones with noise.
    features.stats = np.concatenate(
        [features.stats, rng.standard_normal((features.stats.shape[0], 880))], axis=1
    ).astype(np.float32)
    head = fit_head(features, np.ones(features.view_path.size, bool))
    install_head(head, bundled_model_path("spoof"), tmp_path / "model", {"note": "test"})
    detector = SpoofDetector(model_dir=tmp_path / "model", classical_head=True)
    assert detector.classical_head is not None
    assert detector.sidecar.classical_head is not None
    assert ".ctts" in detector.sidecar.version
    stats = features.stats[:5]
    np.testing.assert_allclose(
        detector.classical_head.logits(stats), head.model.logit(stats), rtol=1e-3, atol=1e-3
    )


def _corpus(tmp_path: Path, rows: list[dict[str, str]]) -> Path:
    with (tmp_path / "manifest.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(COLUMNS))
        writer.writeheader()
        for row in rows:
            writer.writerow({c: "" for c in COLUMNS} | {"duration_s": "3.0"} | row)
    return tmp_path


def test_fit_readers_are_a_fixed_number_in_a_fixed_order_never_an_excluded_one() -> None:
    readers = [str(i) for i in range(300)]
    chosen = fit_readers(readers, set())
    assert len(chosen) == 50 and chosen == fit_readers(reversed(readers), set())
    without = fit_readers(readers, {chosen[0]})
    assert chosen[0] not in without and len(without) == 50
    assert set(chosen) - set(without) == {chosen[0]}


def test_clip_selection_keeps_the_diarization_voices_and_readers_out(tmp_path: Path) -> None:
    def row(path: str, generator: str, **extra: str) -> dict[str, str]:
        return {"path": path, "generator": generator, "augmentation": "none"} | extra

    corpus = _corpus(
        tmp_path,
        [
            row("a.wav", "espeak-ng", voice="en-us+f3@r1.0-p1.0", label="spoof"),
            row("b.wav", "espeak-ng", voice="en-us+klatt2@r1.0-p1.0", label="spoof"),
            row("c.wav", "flite", voice="kal@r1.0-p1.0", label="spoof"),
            row("d.wav", "piper", voice="joe", label="spoof"),
            row("e.wav", GENUINE, speaker="libri-11", label="bonafide"),
            row("f.wav", GENUINE, speaker="libri-12", label="bonafide"),
            row("g.wav", "flite", voice="kal@r1.0-p1.0", label="spoof", augmentation="noise"),
            row("h.wav", "flite", voice="slt@r1.0-p1.0", label="spoof"),
            row("i.wav", "festival", voice="cmu_us_slt_arctic_hts@r1.0-p1.0", label="spoof"),
            row("j.wav", "festival", voice="ked_diphone@r1.0-p1.0", label="spoof"),
            row("k.wav", "rhvoice", voice="bdl@r1.0-p1.0", label="spoof"),
        ],
    )
    clips, readers, left_out = select_clips(corpus, {"12"})
    assert [c.path.name for c in clips] == ["b.wav", "c.wav", "e.wav", "j.wav"]
    assert readers == ["11"]
    assert left_out["espeak-ng voice of the diarization set"] == 1
    assert left_out["voice built from CMU ARCTIC speakers"] == 3
    assert left_out["genuine unit of an evaluation reader"] == 1
    assert [c.label for c in clips] == [1, 1, 0, 1]
    assert "amr-nb" in clips[0].copies and "g723" in clips[2].copies


def test_the_diarization_sets_human_readers_are_read_from_its_labels(tmp_path: Path) -> None:
    labels = tmp_path / "labels.csv"
    labels.write_text(
        "uri,speaker,synthetic,source\n"
        "tts000,spk1,0,1234-5678-0001.flac\n"
        "tts000,tts-en-us,1,espeak-ng en-us 160 wpm pitch 40\n"
    )
    assert diarization_readers(labels) == {"1234"}
