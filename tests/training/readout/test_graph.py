"""The detector's graph as retraining sees it: the linear read-outs and, in an ensemble, the
fixed non-linear branch, read from the file and written back with new numbers."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

pytest.importorskip("torch")

from tests.training.detector.test_encoder import exported_fusion
from voxguard.errors import ModelMismatch
from voxguard.spoof import SpoofDetector
from voxguard.training.detector.export import MODEL_FILE
from voxguard.training.readout.graph import (
    base_readout,
    with_feature_outputs,
    write_readout,
)


def _exported(tmp_path: Path, ensemble: bool) -> tuple[Path, list[np.ndarray]]:
    out = tmp_path / "model"
    windows, _ = exported_fusion(out, ensemble, seed=5)
    return out, windows


def _run(graph: bytes | str, feeds: dict[str, np.ndarray], names: list[str]) -> list[np.ndarray]:
    session = ort.InferenceSession(graph, providers=["CPUExecutionProvider"])
    return [np.asarray(x) for x in session.run(names, feeds)]


def test_an_ensemble_graph_is_read_and_rewritten_with_its_branch(tmp_path: Path) -> None:
    out, windows = _exported(tmp_path, ensemble=True)
    path = out / MODEL_FILE
    feeds = SpoofDetector(model_dir=out).feeds(windows)
    graph, encoded_name, branch_name = with_feature_outputs(path)
    assert branch_name is not None
    logit, encoded, branch = _run(graph, feeds, ["logit", encoded_name, branch_name])
    features = np.concatenate([feeds["stats"], encoded], axis=1)
    branch = branch.reshape(-1)

    base = base_readout(path)
    assert base.branch_scale == pytest.approx(1.3)
    np.testing.assert_allclose(base.logit(features, branch), logit, rtol=1e-3, atol=1e-3)
    with pytest.raises(ValueError, match="branch"):
        base.logit(features)

    # New numbers for the linear heads and the branch's weight; the network stays.
    rng = np.random.default_rng(0)
    new = dataclasses.replace(
        base,
        weights=base.weights * rng.uniform(0.5, 1.5, base.weights.size),
        bias=0.4,
        branch_scale=-0.6,
    )
    write_readout(path, new, feeds["stats"].shape[1], tmp_path / "new.onnx")
    (served,) = _run(str(tmp_path / "new.onnx"), feeds, ["logit"])
    np.testing.assert_allclose(served, new.logit(features, branch), rtol=1e-3, atol=1e-3)


def test_a_fusion_graph_has_no_branch_to_weigh(tmp_path: Path) -> None:
    out, _ = _exported(tmp_path, ensemble=False)
    path = out / MODEL_FILE
    _, _, branch_name = with_feature_outputs(path)
    base = base_readout(path)
    assert branch_name is None and base.branch_scale == 0.0
    with pytest.raises(ModelMismatch, match="no non-linear branch"):
        write_readout(path, dataclasses.replace(base, branch_scale=1.0), 1, tmp_path / "new.onnx")
