"""Copies of the bundled spoof model with an edited calibration, for the spoof tests."""

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from voxguard.models import bundled_model_path
from voxguard.spoof.classical_head import HEAD_KEY

HEAD_FILE = "classical_tts_head.onnx"


def with_calibration_block(tmp_path: Path, block: str, value: object) -> Path:
    """``tmp_path``/model: the bundled model (copied on first use) with
    ``calibration[block] = value``; successive calls edit the same copy."""
    model_dir = tmp_path / "model"
    if not model_dir.exists():
        shutil.copytree(bundled_model_path("spoof"), model_dir)
    sidecar = json.loads((model_dir / "spoof_detector.json").read_text())
    sidecar["calibration"][block] = value
    (model_dir / "spoof_detector.json").write_text(json.dumps(sidecar))
    return model_dir


STATS_DIMS = 892
# Gates every logit passes: the head always speaks.
OPEN_GATES = {"wideband": -1e9, "band_limited": -1e9, "narrowband": -1e9}


def with_classical_head(
    tmp_path: Path,
    weights: np.ndarray,
    bias: float,
    gates: dict[str, float],
    scale: float = 1.0,
    offset: float = 0.0,
    dims: int = STATS_DIMS,
) -> Path:
    """``tmp_path``/model: the bundled model (copied on first use) with a linear classical-TTS
    head ``stats @ weights + bias`` (an ONNX graph built here) and its sidecar block."""
    pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    model_dir = tmp_path / "model"
    if not model_dir.exists():
        shutil.copytree(bundled_model_path("spoof"), model_dir)
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["stats", "w"], ["z"]),
            helper.make_node("Add", ["z", "b"], ["logit"]),
        ],
        "classical_tts_head",
        [helper.make_tensor_value_info("stats", TensorProto.FLOAT, [None, dims])],
        [helper.make_tensor_value_info("logit", TensorProto.FLOAT, [None])],
        [
            numpy_helper.from_array(np.asarray(weights, np.float32), "w"),
            numpy_helper.from_array(np.asarray(bias, np.float32), "b"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    head_path = model_dir / HEAD_FILE
    head_path.write_bytes(model.SerializeToString())
    sidecar = json.loads((model_dir / "spoof_detector.json").read_text())
    sidecar[HEAD_KEY] = {
        "model_file": HEAD_FILE,
        "sha256": hashlib.sha256(head_path.read_bytes()).hexdigest(),
        "input": {"name": "stats", "kind": "spectral_statistics", "shape": [None, dims]},
        "output": {"name": "logit"},
        "calibration": {"scale": scale, "offset": offset},
        "gates": gates,
        "fusion": "noisy_or",
    }
    (model_dir / "spoof_detector.json").write_text(json.dumps(sidecar))
    return model_dir
