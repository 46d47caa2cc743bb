"""ONNX export of a trained back end plus its JSON sidecar."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from voxguard.spoof.features import FeatureParams
from voxguard.spoof.sidecar import SIDECAR_FORMAT
from voxguard.training.detector.encoder import WhisperPrefix
from voxguard.training.detector.models import (
    BASELINE_PROBABILITY_CLIP,
    BaselineForest,
    Detector,
    FusionEnsemble,
    FusionModel,
    LinearModel,
    PhaseEnsemble,
    SpecCNN,
    StatsMLP,
    ViewsMLP,
)

MODEL_FILE = "spoof_detector.onnx"
SIDECAR_FILE = "spoof_detector.json"


class _LinearModule(nn.Module):
    mean: torch.Tensor
    std: torch.Tensor
    w: torch.Tensor
    b: torch.Tensor

    def __init__(self, lm: LinearModel):
        super().__init__()
        self.register_buffer("mean", torch.as_tensor(lm.mean, dtype=torch.float32))
        self.register_buffer("std", torch.as_tensor(lm.std, dtype=torch.float32))
        self.register_buffer("w", torch.as_tensor(lm.weights, dtype=torch.float32))
        self.register_buffer("b", torch.tensor(float(lm.bias)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return ((x - self.mean) / self.std) @ self.w + self.b


class _FusionModule(nn.Module):
    def __init__(self, model: FusionModel, encoder: WhisperPrefix):
        super().__init__()
        self.stats_head = _LinearModule(model.stats_head)
        self.encoder_head = _LinearModule(model.encoder_head)
        self.encoder = encoder.eval()
        self.stats_weight = float(model.stats_weight)
        self.encoder_weight = float(model.encoder_weight)

    def forward(self, stats: torch.Tensor, power: torch.Tensor) -> torch.Tensor:
        return self.readout(stats, self.encoder(power))

    def readout(self, stats: torch.Tensor, encoded: torch.Tensor) -> torch.Tensor:
        """The two linear heads, weighted and summed, on the encoder's output."""
        return self.stats_weight * self.stats_head(stats) + self.encoder_weight * (
            self.encoder_head(encoded)
        )


class _EnsembleModule(_FusionModule):
    """The linear fusion and the views MLP on the same encoder output, summed.

    The fusion's weight is folded into its two heads' constants and the MLP's is a named
    initializer (``mlp_weight``), so the graph keeps the fusion's layout (``stats_head.*``,
    ``encoder_head.*``) plus one fixed non-linear branch: retraining from uploaded data
    (``voxguard.training.readout``) refits the linear heads and that branch's weight."""

    mlp_weight: torch.Tensor

    def __init__(self, model: FusionEnsemble, encoder: WhisperPrefix):
        linear = dataclasses.replace(
            model.linear,
            stats_weight=model.linear_weight * model.linear.stats_weight,
            encoder_weight=model.linear_weight * model.linear.encoder_weight,
        )
        super().__init__(linear, encoder)
        self.mlp = model.mlp.eval()
        self.register_buffer("mlp_weight", torch.tensor(float(model.mlp_weight)))

    def forward(self, stats: torch.Tensor, power: torch.Tensor) -> torch.Tensor:
        encoded = self.encoder(power)
        views = self.mlp(torch.cat([stats, encoded], dim=1))
        return self.readout(stats, encoded) + self.mlp_weight * views


def _stats_input(dims: int) -> dict[str, Any]:
    return {"name": "stats", "kind": "spectral_statistics", "shape": [None, dims]}


def _inputs(
    model: SpecCNN | StatsMLP | LinearModel | FusionModel | FusionEnsemble, params: FeatureParams
) -> tuple[nn.Module, list[dict[str, Any]]]:
    """The module to trace and its inputs as (name, kind, shape) sidecar entries."""
    if isinstance(model, SpecCNN):
        shape: list[int | None] = [None, params.bands, params.frames]
        return model.eval(), [{"name": "spec", "kind": "log_spectrogram", "shape": shape}]
    if isinstance(model, StatsMLP):
        return model.eval(), [_stats_input(model.dims)]
    if isinstance(model, LinearModel):
        return _LinearModule(model).eval(), [_stats_input(int(model.mean.size))]
    fusion = model.linear if isinstance(model, FusionEnsemble) else model
    if fusion.encoder is None:
        raise ValueError("a FusionModel needs its encoder attached for export")
    frames = 1 + params.window_samples // params.encoder_hop - 1
    power = {
        "name": "power",
        "kind": "power_spectrogram",
        "shape": [None, params.encoder_n_fft // 2 + 1, frames],
    }
    stats = _stats_input(int(fusion.stats_head.mean.size))
    if isinstance(model, FusionEnsemble):
        return _EnsembleModule(model, fusion.encoder).eval(), [stats, power]
    return _FusionModule(fusion, fusion.encoder).eval(), [stats, power]


def _export_forest(model: BaselineForest, onnx_path: Path) -> list[dict[str, Any]]:
    """The forest via skl2onnx, then the same clipped-probability logit as ``logit``."""
    import onnx
    from onnx import TensorProto, helper
    from skl2onnx import to_onnx

    dims = int(model.forest.n_features_in_)
    graph_model = to_onnx(
        model.forest,
        np.zeros((1, dims), np.float32),
        options={id(model.forest): {"zipmap": False}},
        target_opset={"": 17, "ai.onnx.ml": 3},
    )
    graph = graph_model.graph
    graph.input[0].name = "summary"
    for node in graph.node:
        node.input[:] = ["summary" if name == "X" else name for name in node.input]
    eps = BASELINE_PROBABILITY_CLIP
    graph.initializer.extend(
        [
            helper.make_tensor("spoof_column", TensorProto.INT64, [], [1]),
            helper.make_tensor("p_min", TensorProto.FLOAT, [], [eps]),
            helper.make_tensor("p_max", TensorProto.FLOAT, [], [1 - eps]),
            helper.make_tensor("one", TensorProto.FLOAT, [], [1.0]),
        ]
    )
    graph.node.extend(
        [
            helper.make_node("Gather", ["probabilities", "spoof_column"], ["p_raw"], axis=1),
            helper.make_node("Clip", ["p_raw", "p_min", "p_max"], ["p"]),
            helper.make_node("Sub", ["one", "p"], ["q"]),
            helper.make_node("Div", ["p", "q"], ["odds"]),
            helper.make_node("Log", ["odds"], ["logit"]),
        ]
    )
    del graph.output[:]
    graph.output.append(helper.make_tensor_value_info("logit", TensorProto.FLOAT, [None]))
    onnx.checker.check_model(graph_model)
    onnx_path.write_bytes(graph_model.SerializeToString())
    return [{"name": "summary", "kind": "summary_features", "shape": [None, dims]}]


def export(
    model: Detector,
    params: FeatureParams,
    out_dir: Path,
    calibration: dict[str, Any],
    threshold: float,
    extra: dict[str, Any],
) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    onnx_path = out_dir / MODEL_FILE
    if isinstance(model, ViewsMLP | PhaseEnsemble):
        raise ValueError(
            f"{type(model).__name__} is scored by the protocols only; it has no ONNX export yet"
        )
    if isinstance(model, BaselineForest):
        inputs = _export_forest(model, onnx_path)
    else:
        module, inputs = _inputs(model, params)
        names = [i["name"] for i in inputs]
        dummies = tuple(torch.zeros([1, *i["shape"][1:]]) for i in inputs)
        torch.onnx.export(
            module,
            dummies,
            str(onnx_path),
            input_names=names,
            output_names=["logit"],
            dynamic_axes={**{n: {0: "batch"} for n in names}, "logit": {0: "batch"}},
            opset_version=17,
            dynamo=False,
            # Folding would turn the float16 encoder weights into float32 and double the
            # file; onnxruntime folds the casts once, at session start.
            do_constant_folding=not isinstance(model, FusionModel | FusionEnsemble),
        )
    digest = hashlib.sha256(onnx_path.read_bytes()).hexdigest()
    sidecar = {
        "format": SIDECAR_FORMAT,
        "model_file": MODEL_FILE,
        "sha256": digest,
        "inputs": [{**i, "dtype": "float32"} for i in inputs],
        "output": {"name": "logit", "meaning": "window logit, higher = more likely synthetic"},
        "labels": ["bonafide", "spoof"],
        "features": params.to_dict(),
        "aggregation": "mean_window_logit",
        "calibration": calibration,
        "threshold": threshold,
        **extra,
    }
    (out_dir / SIDECAR_FILE).write_text(json.dumps(sidecar, indent=1, default=_json_default) + "\n")
    return onnx_path


def _json_default(o: object) -> object:
    if isinstance(o, np.generic):
        return o.item()
    raise TypeError(type(o))
