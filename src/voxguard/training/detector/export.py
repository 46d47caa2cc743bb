"""ONNX export of a trained back end plus its JSON sidecar."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from voxguard.spoof.features import FeatureParams
from voxguard.spoof.sidecar import SIDECAR_FORMAT
from voxguard.training.detector.models import LinearModel, SpecCNN, StatsMLP

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


def export(
    model: SpecCNN | StatsMLP | LinearModel,
    params: FeatureParams,
    out_dir: Path,
    calibration: dict[str, Any],
    threshold: float,
    extra: dict[str, Any],
) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    onnx_path = out_dir / MODEL_FILE
    if isinstance(model, SpecCNN):
        module: nn.Module = model.eval()
        name, kind = "spec", "log_spectrogram"
        dummy = torch.zeros(1, params.bands, params.frames)
        shape: list[int | None] = [None, params.bands, params.frames]
    else:
        module = model.eval() if isinstance(model, StatsMLP) else _LinearModule(model).eval()
        dims = model.dims if isinstance(model, StatsMLP) else int(model.mean.size)
        name, kind = "stats", "spectral_statistics"
        dummy = torch.zeros(1, dims)
        shape = [None, dims]
    torch.onnx.export(
        module,
        (dummy,),
        str(onnx_path),
        input_names=[name],
        output_names=["logit"],
        dynamic_axes={name: {0: "batch"}, "logit": {0: "batch"}},
        opset_version=17,
        dynamo=False,
    )
    digest = hashlib.sha256(onnx_path.read_bytes()).hexdigest()
    sidecar = {
        "format": SIDECAR_FORMAT,
        "model_file": MODEL_FILE,
        "sha256": digest,
        "input": {"name": name, "kind": kind, "shape": shape, "dtype": "float32"},
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
