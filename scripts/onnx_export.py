"""What the encoder export scripts share: the ONNX export, its check against torch, a hash.

Used by ``scripts/export_ge2e.py`` and ``scripts/export_campplus.py`` (needs torch and onnx).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import onnx
import torch


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def export_checked(
    module: torch.nn.Module,
    dummy: torch.Tensor,
    probe: np.ndarray,
    onnx_path: Path,
    input_name: str,
) -> tuple[float, float]:
    """Export ``module`` (input ``input_name`` of shape (batch, frames, bins), output
    ``embeddings``; batch and frames dynamic; opset 17) to ``onnx_path``, check the graph, and
    run ``probe`` (another batch and length) through onnxruntime and torch: the largest
    absolute difference, and the largest absolute value torch gave."""
    with torch.no_grad():
        torch.onnx.export(
            module,
            (dummy,),
            str(onnx_path),
            input_names=[input_name],
            output_names=["embeddings"],
            dynamic_axes={input_name: {0: "batch", 1: "frames"}, "embeddings": {0: "batch"}},
            opset_version=17,
            do_constant_folding=True,
            dynamo=False,
        )
    onnx.checker.check_model(onnx.load(str(onnx_path)))

    import onnxruntime as ort

    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    got = session.run(["embeddings"], {input_name: probe})[0]
    with torch.no_grad():
        want = module(torch.from_numpy(probe)).numpy()
    return float(np.max(np.abs(got - want))), float(np.max(np.abs(want)))
