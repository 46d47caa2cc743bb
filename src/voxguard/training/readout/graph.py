"""The fusion detector's ONNX graph: its two linear read-outs found by name, their inputs
exposed for featurising, and their weights replaced for a retrained model.

The base graph computes ``logit = a * (z_s . w_s + b_s) + c * (z_e . w_e + b_e)`` with
``z = (x - mean) / std`` for the 892 spectral statistics (s) and the 768 pooled encoder
activations (e). A retrained read-out is one logistic regression over both standardised
blocks; it is written into the same initializers (divided by ``a`` and ``c``), so the
exported model is the base graph with new numbers: same inputs, same sidecar format, and
served by the unchanged detector.

An ensemble graph adds one fixed non-linear branch (the views MLP): ``logit = linear +
mlp_weight * branch``. Retraining keeps the branch's network and refits its weight with the
linear part: the branch's raw output is one more input of the read-out (``branch``), and its
new weight is written into the ``mlp_weight`` initializer.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import ModelProto, numpy_helper

from voxguard.errors import ModelMismatch

HEADS = ("stats_head", "encoder_head")
BRANCH_WEIGHT = "mlp_weight"


@dataclass(frozen=True)
class ReadOut:
    """A linear read-out over the concatenated [stats, encoded] features, plus
    ``branch_scale`` times the fixed non-linear branch's raw output (0 without one)."""

    mean: np.ndarray
    std: np.ndarray
    weights: np.ndarray
    bias: float
    branch_scale: float = 0.0

    def logit(self, features: np.ndarray, branch: np.ndarray | None = None) -> np.ndarray:
        linear = ((features - self.mean) / self.std) @ self.weights + self.bias
        if self.branch_scale == 0.0:
            return np.asarray(linear)
        if branch is None:
            raise ValueError("this read-out weighs a non-linear branch: pass its outputs")
        return np.asarray(linear + self.branch_scale * branch)


def _initializers(model: ModelProto) -> dict[str, onnx.TensorProto]:
    return {t.name: t for t in model.graph.initializer}


def check_fusion(model: ModelProto, path: Path) -> None:
    names = _initializers(model)
    missing = [
        f"{h}.{p}" for h in HEADS for p in ("mean", "std", "w", "b") if f"{h}.{p}" not in names
    ]
    if missing:
        raise ModelMismatch(
            f"{path} is not the fusion detector's graph (no {', '.join(missing)}): only a "
            "model with the two linear read-outs can be retrained from uploaded data"
        )


def branch_output(model: ModelProto) -> str | None:
    """The fixed branch's raw output (the tensor ``mlp_weight`` multiplies); None when the
    graph has no such branch."""
    if BRANCH_WEIGHT not in _initializers(model):
        return None
    for node in model.graph.node:
        if node.op_type == "Mul" and BRANCH_WEIGHT in node.input:
            return str(next(name for name in node.input if name != BRANCH_WEIGHT))
    raise ModelMismatch(f"the spoof model's graph has {BRANCH_WEIGHT} but nothing it weighs")


def head_input(model: ModelProto, head: str) -> str:
    """The tensor a read-out standardises (its ``Sub`` node's first input)."""
    for node in model.graph.node:
        if node.op_type == "Sub" and len(node.input) == 2 and node.input[1] == f"{head}.mean":
            return str(node.input[0])
    raise ModelMismatch(f"the spoof model's graph has no input to {head}")


def head_weight(model: ModelProto, head: str) -> float:
    """The constant the read-out's logit is multiplied by before the two are summed."""
    producers = {out: node for node in model.graph.node for out in node.output}
    consumers = [n for n in model.graph.node if n.op_type == "Add" and f"{head}.b" in n.input]
    if not consumers:
        raise ModelMismatch(f"the spoof model's graph has no bias add for {head}")
    added = consumers[0].output[0]
    for node in model.graph.node:
        if node.op_type == "Mul" and added in node.input:
            other = next(name for name in node.input if name != added)
            const = producers.get(other)
            if const is not None and const.op_type == "Constant":
                return float(numpy_helper.to_array(const.attribute[0].t))
            inits = _initializers(model)
            if other in inits:
                return float(numpy_helper.to_array(inits[other]))
    return 1.0


def base_readout(model_path: Path) -> ReadOut:
    """The base graph's two read-outs as one, over [stats, encoded] (weights times their
    summing constants), and the branch's weight: ``logit`` of it, given the branch's outputs,
    reproduces the base model's window logits."""
    model = onnx.load(str(model_path))
    check_fusion(model, model_path)
    inits = {
        k: numpy_helper.to_array(v).astype(np.float64) for k, v in _initializers(model).items()
    }
    scales = [head_weight(model, head) for head in HEADS]
    return ReadOut(
        mean=np.concatenate([inits[f"{h}.mean"] for h in HEADS]),
        std=np.concatenate([inits[f"{h}.std"] for h in HEADS]),
        weights=np.concatenate([a * inits[f"{h}.w"] for a, h in zip(scales, HEADS, strict=True)]),
        bias=float(sum(a * inits[f"{h}.b"] for a, h in zip(scales, HEADS, strict=True))),
        branch_scale=float(inits[BRANCH_WEIGHT]) if BRANCH_WEIGHT in inits else 0.0,
    )


def with_feature_outputs(model_path: Path) -> tuple[bytes, str, str | None]:
    """The base model with the pooled encoder activations (and the branch's raw output,
    where there is one) as more outputs, and their names (the statistics are a graph input
    already)."""
    model = onnx.load(str(model_path))
    check_fusion(model, model_path)
    encoded = head_input(model, "encoder_head")
    branch = branch_output(model)
    for name in (encoded, branch):
        if name is not None:
            model.graph.output.append(onnx.ValueInfoProto(name=name))
    return model.SerializeToString(), encoded, branch


def write_readout(base_path: Path, readout: ReadOut, stats_dims: int, out_path: Path) -> None:
    """The base graph with ``readout`` in place of its two read-outs."""
    model = onnx.load(str(base_path))
    check_fusion(model, base_path)
    inits = _initializers(model)
    if readout.branch_scale != 0.0 and BRANCH_WEIGHT not in inits:
        raise ModelMismatch(f"{base_path} has no non-linear branch to weigh")
    split = {
        "stats_head": slice(0, stats_dims),
        "encoder_head": slice(stats_dims, readout.weights.size),
    }
    for head, part in split.items():
        scale = head_weight(model, head)
        bias = readout.bias / scale if head == "stats_head" else 0.0
        values = {
            "mean": readout.mean[part],
            "std": readout.std[part],
            "w": readout.weights[part] / scale,
            "b": np.asarray(bias),
        }
        for name, value in values.items():
            tensor = inits[f"{head}.{name}"]
            if tuple(tensor.dims) != np.shape(value):
                raise ModelMismatch(
                    f"{head}.{name} has shape {tuple(tensor.dims)}; the read-out gives "
                    f"{np.shape(value)}"
                )
            tensor.CopyFrom(numpy_helper.from_array(np.asarray(value, np.float32), tensor.name))
    if BRANCH_WEIGHT in inits:
        weight = inits[BRANCH_WEIGHT]
        value = np.asarray(readout.branch_scale, np.float32)
        weight.CopyFrom(numpy_helper.from_array(value, weight.name))
    onnx.checker.check_model(model)
    out_path.write_bytes(model.SerializeToString())
