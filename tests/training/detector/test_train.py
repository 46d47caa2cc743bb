import json
from pathlib import Path
from unittest.mock import patch

import numpy as np
import pytest

pytest.importorskip("torch")

from tests.training.detector.caches import one_window_cache
from voxguard.spoof import SpoofDetector
from voxguard.spoof.features import (
    FeatureParams,
    log_spectrogram,
    spectral_statistics,
    summary_features,
)
from voxguard.training.detector.approaches import fit_approach
from voxguard.training.detector.data import Clip, FeatureCache
from voxguard.training.detector.export import export
from voxguard.training.detector.models import (
    Detector,
    fit_baseline,
    fit_cnn,
    fit_mlp,
    fit_stats,
    predict_cnn,
    predict_mlp,
)
from voxguard.training.detector.train import (
    MIN_CALIBRATION_SCALE,
    cross_fitted_scores,
    fit_calibration,
    recording_key,
)

P = FeatureParams()


def _toy_windows(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """'Genuine' = broadband noise; 'spoof' = the same with a band above 4 kHz removed."""
    rng = np.random.default_rng(seed)
    specs, labels = [], []
    for i in range(n):
        x = rng.standard_normal(P.window_samples).astype(np.float32)
        label = i % 2
        if label:
            spectrum = np.fft.rfft(x)
            spectrum[len(spectrum) // 2 :] *= 0.05
            x = np.fft.irfft(spectrum, n=x.size).astype(np.float32)
        specs.append(log_spectrogram(x, P))
        labels.append(label)
    return np.stack(specs), np.array(labels)


def _export_and_load(model: Detector, out: Path) -> SpoofDetector:
    calibration = {"method": "logistic", "scale": 1.0, "offset": 0.0}
    export(model, P, out, calibration, 0.5, {"version": "test"})
    return SpoofDetector(model_dir=out)


def test_a_few_cnn_steps_reduce_the_loss_and_export(tmp_path: Path) -> None:
    specs, labels = _toy_windows(32)
    model, report = fit_cnn(specs, labels, batch_size=16, lr=3e-3, max_steps=24)
    first, last = np.mean(report.losses[:4]), np.mean(report.losses[-4:])
    assert last < first
    logits = predict_cnn(model, specs)
    assert logits.shape == (32,)
    detector = _export_and_load(model, tmp_path)
    onnx_logits = detector.window_logits(
        [np.random.default_rng(1).standard_normal(P.window_samples).astype(np.float32)]
    )
    assert onnx_logits.shape == (1,)


def test_cnn_draws_windows_by_their_weights() -> None:
    specs, labels = _toy_windows(32)
    # the same windows again with their labels flipped, at weight zero: never drawn
    both = np.concatenate([specs, specs])
    flipped = np.concatenate([labels, 1 - labels])
    weights = np.r_[np.ones(32), np.zeros(32)]
    model, report = fit_cnn(
        both, flipped, batch_size=16, lr=3e-3, max_steps=40, sample_weight=weights
    )
    assert np.mean(report.losses[-4:]) < np.mean(report.losses[:4])
    logits = predict_cnn(model, specs)
    assert np.mean((logits > np.median(logits)) == labels.astype(bool)) >= 0.9


def test_stats_model_exports_and_matches_numpy(tmp_path: Path) -> None:
    specs, labels = _toy_windows(16)
    stats = np.stack([spectral_statistics(s) for s in specs])
    model = fit_stats(stats, labels)
    detector = _export_and_load(model, tmp_path)
    x = np.random.default_rng(2).standard_normal(P.window_samples).astype(np.float32)
    expected = model.logit(spectral_statistics(log_spectrogram(x, P))[None])
    np.testing.assert_allclose(detector.window_logits([x]), expected, rtol=1e-3, atol=1e-3)


def test_stats_mlp_learns_and_exports(tmp_path: Path) -> None:
    specs, labels = _toy_windows(16)
    stats = np.stack([spectral_statistics(s) for s in specs])
    model, report = fit_mlp(stats, labels, epochs=20, batch_size=8)
    assert np.mean(report.losses[-4:]) < np.mean(report.losses[:4])
    detector = _export_and_load(model, tmp_path)
    assert [i.kind for i in detector.sidecar.inputs] == ["spectral_statistics"]
    x = np.random.default_rng(3).standard_normal(P.window_samples).astype(np.float32)
    expected = predict_mlp(model, spectral_statistics(log_spectrogram(x, P))[None])
    np.testing.assert_allclose(detector.window_logits([x]), expected, rtol=1e-3, atol=1e-3)


def test_baseline_forest_exports_and_matches_scikit_learn(tmp_path: Path) -> None:
    pytest.importorskip("skl2onnx", reason="the baseline's ONNX export needs skl2onnx")
    rng = np.random.default_rng(4)
    waves = [rng.standard_normal(P.window_samples).astype(np.float32) for _ in range(12)]
    waves = [w if i % 2 else np.cumsum(w) / 50 for i, w in enumerate(waves)]  # spoof = white
    feats = np.stack([summary_features(w, P) for w in waves])
    model = fit_baseline(feats, np.arange(12) % 2)
    detector = _export_and_load(model, tmp_path)
    assert [i.kind for i in detector.sidecar.inputs] == ["summary_features"]
    probe = [
        rng.standard_normal(P.window_samples),
        np.cumsum(rng.standard_normal(P.window_samples)) / 50,
    ]
    probe = [w.astype(np.float32) for w in probe]
    expected = model.logit(np.stack([summary_features(w, P) for w in probe]))
    np.testing.assert_allclose(detector.window_logits(probe), expected, rtol=1e-4, atol=1e-4)
    assert expected[0] > 0 > expected[1]  # the white probe looks like the "spoofs"


def _grouped_cache(signal: float, groups: int = 4, per_class: int = 20) -> FeatureCache:
    """One window per clip; 200 noise statistics, the first shifted by ``signal`` for spoofs."""
    rng = np.random.default_rng(0)
    clips = [
        Clip(Path(f"{g}-{label}-{i}.wav"), label, "human" if not label else "tts", f"demos:r{g}")
        for g in range(groups)
        for label in (0, 1)
        for i in range(per_class)
    ]
    stats = rng.standard_normal((len(clips), 200)).astype(np.float32)
    stats[:, 0] += signal * np.array([c.label for c in clips], np.float32)
    return one_window_cache(clips, stats)


def test_calibration_on_noise_is_uninformative_out_of_fold_but_not_in_sample() -> None:
    cache = _grouped_cache(signal=0.0)
    windows = np.arange(len(cache.clips))
    scale, _, fitted_on = cross_fitted_scores(cache, "stats", windows).calibration()
    assert "out-of-fold" in fitted_on and "4 folds" in fitted_on
    model = fit_stats(cache.stats, np.array([c.label for c in cache.clips]))
    in_sample_scale, _ = fit_calibration(
        model.logit(cache.stats), np.array([c.label for c in cache.clips])
    )
    # In sample, 160 clips x 200 noise dimensions look separable; out of fold they are not.
    assert in_sample_scale > 1.0
    assert abs(scale) < 0.3 * in_sample_scale


def test_calibration_keeps_real_signal_and_falls_back_with_one_group() -> None:
    informative = _grouped_cache(signal=3.0)
    windows = np.arange(len(informative.clips))
    scale, _, _ = cross_fitted_scores(informative, "stats", windows).calibration()
    assert scale > 0.5
    single = _grouped_cache(signal=3.0, groups=1)
    _, _, fitted_on = cross_fitted_scores(
        single, "stats", np.arange(len(single.clips))
    ).calibration()
    assert "in sample" in fitted_on


def test_in_sample_fallback_scores_the_model_already_fitted() -> None:
    single = _grouped_cache(signal=3.0, groups=1)
    windows = np.arange(len(single.clips))
    trained = fit_approach("stats", single, windows)
    refitted = cross_fitted_scores(single, "stats", windows).calibration()
    with patch("voxguard.training.detector.train.fit_approach") as fit:
        reused = cross_fitted_scores(single, "stats", windows, trained=trained).calibration()
    fit.assert_not_called()
    assert reused == pytest.approx(refitted)


def test_calibration_never_inverts_the_detector() -> None:
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1], 200)
    scores = rng.standard_normal(400) - 0.8 * labels  # spoofs score lower: inverted evidence
    scale, offset = fit_calibration(scores, labels)
    assert scale == MIN_CALIBRATION_SCALE
    probabilities = 1 / (1 + np.exp(-(scale * scores + offset)))
    assert np.all(np.abs(probabilities - 0.5) < 0.05)  # no usable evidence: near the prior
    ordinary_scale, _ = fit_calibration(-scores, labels)
    assert ordinary_scale > 0.5


def test_genuine_only_sources_are_spread_over_the_calibration_folds() -> None:
    """Corpus-style groups: genuine speech in a group of its own, each family spoof-only."""
    rng = np.random.default_rng(1)
    clips = [Clip(Path(f"libri/{i}.wav"), 0, "human", "corpus:bonafide:libri") for i in range(40)]
    clips += [
        Clip(Path(f"libri/{i}_aug.wav"), 0, "human", "corpus:bonafide:libri") for i in range(40)
    ]
    for family in ("tts", "vocoder", "neural"):
        clips += [Clip(Path(f"{family}/{i}.wav"), 1, family, f"corpus:{family}") for i in range(30)]
    n = len(clips)
    stats = rng.standard_normal((n, 20)).astype(np.float32)
    stats[:, 0] += 3.0 * np.array([c.label for c in clips], np.float32)
    cache = one_window_cache(clips, stats)
    # Holding the genuine group out whole would leave an inner model with spoofs only.
    scale, _, fitted_on = cross_fitted_scores(cache, "stats", np.arange(n)).calibration()
    assert "3 folds" in fitted_on and scale > 0.5
    assert recording_key(clips[0]) == recording_key(clips[40])  # a clip and its augmented copy


def _phone_line_of(cache: FeatureCache) -> FeatureCache:
    """The same clips through a phone line that makes every clip look more synthetic (the
    informative statistic up)."""
    phone = one_window_cache(cache.clips, cache.stats.copy())
    phone.stats[:, 0] += 2.0
    return phone


def test_narrowband_calibration_is_fitted_on_phone_line_scores_out_of_fold() -> None:
    from voxguard.training.detector.train import (
        NARROWBAND_BELOW_DB,
        NARROWBAND_CALIBRATION_LINES,
        demos_loso_scores,
        narrowband_calibration,
    )

    train = _grouped_cache(signal=3.0)
    phone = _phone_line_of(train)
    phone.encoded = np.zeros((len(phone.clips), 1), np.float32)
    lines = dict.fromkeys(NARROWBAND_CALIBRATION_LINES, phone)
    passed = demos_loso_scores(train, {"clean": train} | lines, "stats")
    narrow = narrowband_calibration(passed.by_cache)
    assert narrow["below_high_band_db"] == NARROWBAND_BELOW_DB
    assert all(line in narrow["fitted_on"] for line in NARROWBAND_CALIBRATION_LINES)
    assert narrow["scale"] > 0.0

    clean = np.array(list(passed.by_cache["clean"].values()))
    line = np.array(list(passed.by_cache[NARROWBAND_CALIBRATION_LINES[0]].values()))
    scale, offset = fit_calibration(clean[:, 1], clean[:, 0])
    genuine_phone = line[line[:, 0] == 0, 1]

    def flagged(a: float, b: float) -> float:
        return float(np.mean(a * genuine_phone + b >= 0.0))

    # The clean calibration flags the shifted genuine calls; the phone-line one does not.
    assert flagged(scale, offset) > 0.6, flagged(scale, offset)
    assert flagged(narrow["scale"], narrow["offset"]) < min(0.4, flagged(scale, offset) - 0.3)


def test_a_fold_model_gets_phone_line_and_short_speech_calibrations_from_its_training_clips(
    tmp_path: Path,
) -> None:
    from voxguard.training.detector.protocols import training_windows
    from voxguard.training.detector.train import (
        BAND_LIMITED_CALIBRATION_LINES,
        CROSS_FITTED_SCORES,
        NARROWBAND_CALIBRATION_LINES,
        SHORT_SPEECH_CONDITIONS,
        clip_key,
        cross_fitted_scores,
        export_fold,
    )

    cache = _grouped_cache(signal=3.0)
    tests = dict.fromkeys(
        NARROWBAND_CALIBRATION_LINES + BAND_LIMITED_CALIBRATION_LINES, _phone_line_of(cache)
    )
    tests |= dict.fromkeys(SHORT_SPEECH_CONDITIONS, cache)
    out = tmp_path / "fold"
    export_fold(cache, "stats", "demos-loso", "demos:r0", out, tests=tests)

    calibration = json.loads((out / "spoof_detector.json").read_text())["calibration"]
    for extra in ("narrowband", "band_limited", "short_speech"):
        assert calibration[extra]["fitted_on"].startswith(CROSS_FITTED_SCORES)
    # Genuine calls score higher than genuine clean clips: the line's mapping starts lower.
    assert calibration["narrowband"]["offset"] < calibration["offset"] - 0.3
    assert calibration["band_limited"]["offset"] < calibration["offset"] - 0.3
    loaded = SpoofDetector(model_dir=out).sidecar.calibration
    assert loaded.narrowband is not None and loaded.band_limited is not None
    # Only the fold's training clips are scored for it: the held-out repository never is.
    held = np.array([c.group == "demos:r0" for c in cache.clips])
    crossed = cross_fitted_scores(cache, "stats", training_windows(cache, held), tests=tests)
    expected = {clip_key(c) for c in cache.clips if c.group != "demos:r0"}
    assert all(set(scores) == expected for scores in crossed.by_cache.values())


def test_without_demo_test_caches_a_fold_model_keeps_only_the_wideband_calibration(
    tmp_path: Path,
) -> None:
    from voxguard.training.detector.train import export_fold

    out = tmp_path / "fold"
    export_fold(_grouped_cache(signal=3.0), "stats", "demos-loso", "demos:r0", out)
    calibration = json.loads((out / "spoof_detector.json").read_text())["calibration"]
    assert not {"narrowband", "band_limited", "short_speech"} & set(calibration)


def test_one_demos_loso_pass_gives_the_protocol_scores_with_one_fit_per_fold() -> None:
    from voxguard.training.detector import train as train_module
    from voxguard.training.detector.protocols import make_scorers, run_protocol, score_rows

    cache = _grouped_cache(signal=1.0)
    protocol = run_protocol(cache, "demos-loso", make_scorers(cache, 6)["stats"])
    with patch.object(train_module, "fit_approach", wraps=fit_approach) as fits:
        passed = train_module.demos_loso_scores(cache, {"line": cache}, "stats")
    assert fits.call_count == 4  # one model per held-out repository, shared by both caches
    assert score_rows(cache, passed.rows)["scores"] == protocol["scores"]
    by_name = {f"{c.path.parent.name}/{c.path.name}": str(c.path) for c in cache.clips}
    line = {by_name[k]: score for k, (_, score) in passed.by_cache["line"].items()}
    assert line == protocol["scores"]


def test_train_leaves_excluded_groups_and_the_corpus_test_split_out_of_the_model(
    tmp_path: Path,
) -> None:
    from voxguard.training.detector import train as train_module

    specs, labels = _toy_windows(96)
    groups = [f"demos:r{i % 4}" for i in range(64)] + ["corpus:classical_tts"] * 16
    groups += ["corpus:neural_tts"] * 16
    splits = [""] * 64 + ["train"] * 16 + ["test"] * 16
    labels[64:] = 1  # the corpus clips are generated speech
    clips = [
        Clip(Path(f"{g}/{i}.wav"), int(y), "tts" if y else "human", g, split=split)
        for i, (g, y, split) in enumerate(zip(groups, labels, splits, strict=True))
    ]
    cache = one_window_cache(clips, np.stack([spectral_statistics(s) for s in specs]))
    cache.specs = specs.astype(np.float16)
    cache.save(tmp_path / "cache.npz")
    out = tmp_path / "model"
    with patch.object(train_module, "fit_model", wraps=train_module.fit_model) as fit:
        train_module.main(
            [
                *("--cache", str(tmp_path / "cache.npz"), "--approach", "stats"),
                *("--exclude", "corpus:classical_tts", "--out", str(out)),
            ]
        )
    final_windows = fit.call_args.args[2]
    assert set(final_windows.tolist()) == set(range(64))  # demos only: excluded + test split out
    sidecar = json.loads((out / "spoof_detector.json").read_text())
    assert sidecar["training_data"]["clips"] == 64
    assert sidecar["metrics"]["excluded"] == ["corpus:classical_tts"]


def test_the_training_summary_fingerprints_exactly_the_audio_trained_on() -> None:
    from voxguard.training.detector.train import summarize

    clips = [
        Clip(Path(f"r/{i}.wav"), i % 2, "tts" if i % 2 else "human", "demos:r") for i in range(4)
    ]
    cache = one_window_cache(clips)
    cache.waves = np.arange(4 * 8, dtype=np.int16).reshape(4, 8)
    trained = np.array([0, 1, 2])
    before = summarize(cache, trained)
    assert before["windows"] == 3 and before["clips"] == 3
    assert summarize(cache, trained[::-1])["window_audio_sha256"] == before["window_audio_sha256"]
    cache.waves[3, 0] += 1  # a window the model did not train on
    assert summarize(cache, trained)["window_audio_sha256"] == before["window_audio_sha256"]
    cache.waves[1, 5] += 1  # one sample of a trained window
    assert summarize(cache, trained)["window_audio_sha256"] != before["window_audio_sha256"]


def test_short_speech_calibration_pools_the_short_excerpt_conditions() -> None:
    from voxguard.training.detector.train import (
        SHORT_SPEECH_BELOW_S,
        SHORT_SPEECH_CONDITIONS,
        DemosLosoScores,
        short_speech_calibration,
    )

    rng = np.random.default_rng(0)
    # Short excerpts: the classes overlap more than on whole clips, so the slope is flatter.
    by_cache = {
        name: {f"c/{i}": (i % 2, float(i % 2 + rng.normal(0.0, 1.0))) for i in range(200)}
        for name in SHORT_SPEECH_CONDITIONS
    }
    whole = {f"c/{i}": (i % 2, float(4 * (i % 2) + rng.normal(0.0, 1.0))) for i in range(200)}
    passed = DemosLosoScores([], by_cache | {"amr-nb": whole})
    short = short_speech_calibration(passed.by_cache)
    assert short["below_speech_s"] == SHORT_SPEECH_BELOW_S
    assert "600 scores" in short["fitted_on"] and "amr-nb, g711" in short["fitted_on"]
    assert 0.3 < short["scale"] < 1.5  # about 1 / variance for unit-spaced classes
    assert (
        short["scale"]
        < fit_calibration(
            np.array([s for _, s in whole.values()]), np.array([y for y, _ in whole.values()])
        )[0]
    )


def test_band_limited_calibration_is_fitted_on_mp3_and_low_pass_scores_out_of_fold() -> None:
    from voxguard.training.detector.train import (
        BAND_LIMITED_BELOW_DB,
        BAND_LIMITED_CALIBRATION_LINES,
        NARROWBAND_CALIBRATION_LINES,
        demos_loso_scores,
        extra_calibrations,
    )

    train = _grouped_cache(signal=3.0)
    limited = _phone_line_of(train)  # an MP3 shifts genuine speech towards synthesis too
    limited.encoded = np.zeros((len(limited.clips), 1), np.float32)
    lines = dict.fromkeys(BAND_LIMITED_CALIBRATION_LINES, limited)
    passed = demos_loso_scores(train, {"clean": train} | lines, "stats")
    extra = extra_calibrations(passed.by_cache)
    # No phone-line scores: no narrowband block, but the band-limited one.
    assert set(extra) == {"band_limited"}
    block = extra["band_limited"]
    assert block["below_top_band_db"] == BAND_LIMITED_BELOW_DB
    assert all(line in block["fitted_on"] for line in BAND_LIMITED_CALIBRATION_LINES)
    assert not any(line in block["fitted_on"] for line in NARROWBAND_CALIBRATION_LINES)
    clean = np.array(list(passed.by_cache["clean"].values()))
    scale, offset = fit_calibration(clean[:, 1], clean[:, 0])
    genuine = np.array(
        [s for y, s in passed.by_cache[BAND_LIMITED_CALIBRATION_LINES[0]].values() if y == 0]
    )

    def flagged(a: float, b: float) -> float:
        return float(np.mean(a * genuine + b >= 0.0))

    assert flagged(scale, offset) > 0.6, flagged(scale, offset)
    assert flagged(block["scale"], block["offset"]) < min(0.4, flagged(scale, offset) - 0.3)


def test_recalibrate_refits_only_the_named_block_and_leaves_the_onnx_file(tmp_path: Path) -> None:
    from voxguard.training.detector import train as train_module
    from voxguard.training.detector.train import (
        BAND_LIMITED_CALIBRATION_LINES,
        NARROWBAND_CALIBRATION_LINES,
        SHORT_SPEECH_CONDITIONS,
    )

    specs, labels = _toy_windows(64)
    clips = [
        Clip(Path(f"r{i % 4}/{i}.wav"), int(y), "tts" if y else "human", f"demos:r{i % 4}")
        for i, y in enumerate(labels)
    ]
    cache = one_window_cache(clips, np.stack([spectral_statistics(s) for s in specs]))
    cache.specs = specs.astype(np.float16)
    cache.save(tmp_path / "cache.npz")
    out = tmp_path / "model"
    base = ["--cache", str(tmp_path / "cache.npz"), "--approach", "stats", "--out", str(out)]
    train_module.main(base)  # no --demos: the wideband calibration only
    before = json.loads((out / "spoof_detector.json").read_text())
    onnx = (out / "spoof_detector.onnx").read_bytes()
    shifted = _phone_line_of(cache)
    tests = dict.fromkeys(NARROWBAND_CALIBRATION_LINES + BAND_LIMITED_CALIBRATION_LINES, shifted)
    tests |= dict.fromkeys(SHORT_SPEECH_CONDITIONS, cache)
    demos = ["--demos", str(tmp_path)]
    with patch.object(train_module, "demo_test_caches", return_value=tests):
        train_module.main([*base, *demos, "--recalibrate", "band_limited"])
        with pytest.raises(SystemExit):  # a block this code does not fit
            train_module.main([*base, *demos, "--recalibrate", "wideband"])
    with pytest.raises(SystemExit):  # nothing to fit the block on
        train_module.main([*base, "--recalibrate", "band_limited"])
    after = json.loads((out / "spoof_detector.json").read_text())
    assert (out / "spoof_detector.onnx").read_bytes() == onnx
    assert set(after["calibration"]) - set(before["calibration"]) == {"band_limited"}
    assert {k: after["calibration"][k] for k in before["calibration"]} == before["calibration"]
    assert after["recalibrated"]["from_version"] == before["version"]
    assert after["recalibrated"]["blocks"] == ["band_limited"]
    assert after["version"].startswith(before["version"] + ".cal")
    assert after["metrics"] == before["metrics"]
    assert SpoofDetector(model_dir=out).sidecar.calibration.band_limited is not None


def test_calibrate_on_sources_kfold_fits_the_wideband_calibration_on_every_source(
    tmp_path: Path,
) -> None:
    from voxguard.training.detector import train as train_module
    from voxguard.training.detector.data import REALWORLD_PREFIX

    specs, labels = _toy_windows(96)
    groups = [f"demos:r{i % 4}" for i in range(32)]
    groups += [f"{REALWORLD_PREFIX}page{i % 8}" for i in range(64)]
    clips = [
        Clip(Path(f"{g}/{i}.wav"), int(y), "tts" if y else "human", g)
        for i, (g, y) in enumerate(zip(groups, labels, strict=True))
    ]
    cache = one_window_cache(clips, np.stack([spectral_statistics(s) for s in specs]))
    cache.specs = specs.astype(np.float16)
    cache.save(tmp_path / "cache.npz")
    out, report = tmp_path / "model", tmp_path / "kfold.json"
    train_module.main(
        [
            *("--cache", str(tmp_path / "cache.npz"), "--approach", "stats"),
            *("--calibrate-on", "sources-kfold", "--calibration-report", str(report)),
            *("--out", str(out)),
        ]
    )
    sidecar = json.loads((out / "spoof_detector.json").read_text())
    kfold = json.loads(report.read_text())["stats"]
    assert len(kfold["scores"]) == 96  # every clip of every source, each scored once
    paths = sorted(kfold["scores"])
    s = np.array([kfold["scores"][p] for p in paths])
    y = np.array([int(Path(p).name.split(".")[0]) % 2 for p in paths])  # _toy_windows' labels
    scale, offset = fit_calibration(s, y)
    wideband = sidecar["calibration"]
    assert "sources-kfold" in wideband["fitted_on"]
    assert wideband["scale"] == pytest.approx(scale)
    assert wideband["offset"] == pytest.approx(offset)
    assert sidecar["metrics"]["sources_kfold"]["eer"] == pytest.approx(kfold["eer"], abs=1e-4)
    assert len(sidecar["metrics"]["operating_points"]) == 9
