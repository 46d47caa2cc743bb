"""Training the overlap detector: labels from reference turns, a few steps that learn, and
the hand-written ONNX graph against torch."""

from __future__ import annotations

import re

import numpy as np
import pytest

from voxguard.diarization import Turn
from voxguard.diarization.overlap import FEATURES
from voxguard.models import cpu_session
from voxguard.training.overlap import (
    Example,
    frame_metrics,
    overlap_labels,
    predict_torch,
    to_onnx,
    train_model,
)

LEVEL = FEATURES.index("log_energy")


def test_frames_where_two_reference_speakers_talk_are_labelled() -> None:
    reference = [
        Turn(0.0, 2.0, "R1"),
        Turn(1.5, 3.0, "R2"),
        Turn(2.5, 2.8, "R2"),  # a speaker's own turns overlapping each other: still one
        Turn(4.0, 5.0, "R1"),
    ]
    labels = overlap_labels(reference, 600, 0.01)
    assert labels.dtype == np.uint8 and labels.size == 600
    assert np.flatnonzero(labels).tolist() == list(range(150, 200))


def _synthetic(seed: int, frames: int = 2000) -> Example:
    """Louder stretches are the overlaps, as two voices at once are louder than one."""
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(frames, len(FEATURES))).astype(np.float32)
    labels = np.zeros(frames, np.uint8)
    for start in rng.integers(0, frames - 100, 8):
        labels[start : start + 80] = 1
    features[:, LEVEL] = 0.4 * features[:, LEVEL] + 1.5 * labels
    return Example(f"clean/s{seed}", features, labels, np.ones(frames, bool))


def test_a_few_steps_learn_the_overlaps() -> None:
    pytest.importorskip("torch")
    examples = [_synthetic(seed) for seed in range(4)]
    lines: list[str] = []
    model, mean, std = train_model(examples, epochs=10, crop=500, batch=4, log=lines.append)
    losses = [float(re.findall(r"loss ([0-9.]+)", line)[0]) for line in lines]
    assert len(losses) == 10 and losses[-1] < 0.7 * losses[0]
    held_out = [_synthetic(seed) for seed in (10, 11)]
    probabilities = [predict_torch(model, mean, std, e.features) for e in held_out]
    assert frame_metrics(held_out, probabilities)["auc"] > 0.9


def test_the_onnx_graph_computes_what_torch_does() -> None:
    pytest.importorskip("torch")
    from voxguard.training.overlap import _build_model

    rng = np.random.default_rng(0)
    model = _build_model().eval()
    mean = rng.normal(size=len(FEATURES)).astype(np.float32)
    std = rng.uniform(0.5, 2.0, size=len(FEATURES)).astype(np.float32)
    features = rng.normal(size=(321, len(FEATURES))).astype(np.float32)
    session = cpu_session(to_onnx(model, mean, std))
    (out,) = session.run(None, {"features": np.ascontiguousarray(features.T[None])})
    assert out.shape == (1, 1, 321)
    expected = predict_torch(model, mean, std, features)
    np.testing.assert_allclose(out.reshape(-1), expected, atol=1e-5)
