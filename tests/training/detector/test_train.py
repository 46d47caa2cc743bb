from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

from voxguard.spoof import SpoofDetector
from voxguard.spoof.features import (
    FeatureParams,
    log_spectrogram,
    spectral_statistics,
    summary_features,
)
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
