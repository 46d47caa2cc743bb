"""The fitted classical-TTS head as ONNX, described in the spoof model's sidecar."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch

from voxguard.spoof.classical_head import FUSION, HEAD_KEY, INPUT_KIND
from voxguard.spoof.sidecar import load_sidecar
from voxguard.training.detector.classical_head import HEAD_FILE, FittedHead
from voxguard.training.detector.export import SIDECAR_FILE, _LinearModule


def write_head_onnx(head: FittedHead, path: Path) -> str:
    """The head's graph (``stats`` -> ``logit``) at ``path``; its sha256."""
    dims = int(head.model.mean.size)
    torch.onnx.export(
        _LinearModule(head.model).eval(),
        (torch.zeros(1, dims),),
        str(path),
        input_names=["stats"],
        output_names=["logit"],
        dynamic_axes={"stats": {0: "batch"}, "logit": {0: "batch"}},
        opset_version=17,
        dynamo=False,
    )
    return hashlib.sha256(path.read_bytes()).hexdigest()


def head_block(head: FittedHead, sha256: str, extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "model_file": HEAD_FILE,
        "sha256": sha256,
        "input": {
            "name": "stats",
            "kind": INPUT_KIND,
            "shape": [None, int(head.model.mean.size)],
            "dtype": "float32",
        },
        "output": {"name": "logit", "meaning": "window logit, higher = more likely classical TTS"},
        "calibration": {"method": "logistic", "scale": head.scale, "offset": head.offset},
        "gates": {block: round(value, 4) for block, value in head.gates.items()},
        "fusion": FUSION,
        **extra,
    }


def install_head(head: FittedHead, model_dir: Path, out_dir: Path, extra: dict[str, Any]) -> Path:
    """Write the head next to the model of ``model_dir`` into ``out_dir`` (the same folder,
    or a copy of it), add its block to the sidecar under a new version, and check that the
    detector loads it and scores as the fitted model does."""
    from voxguard.spoof import SpoofDetector

    out_dir.mkdir(parents=True, exist_ok=True)
    sidecar = json.loads((model_dir / SIDECAR_FILE).read_text())
    if out_dir.resolve() != model_dir.resolve():
        main_file = sidecar["model_file"]
        (out_dir / main_file).write_bytes((model_dir / main_file).read_bytes())
    digest = write_head_onnx(head, out_dir / HEAD_FILE)
    base_version = str(sidecar["version"]).split(".ctts", 1)[0]
    sidecar[HEAD_KEY] = head_block(head, digest, extra)
    sidecar["version"] = f"{base_version}.ctts{datetime.now(UTC):%Y%m%d%H%M}"
    path = out_dir / SIDECAR_FILE
    path.write_text(json.dumps(sidecar, indent=1) + "\n")
    load_sidecar(path)  # what the service will read: fail here, not at serving time
    detector = SpoofDetector(model_dir=out_dir, classical_head=True)
    assert detector.classical_head is not None
    probe = np.random.default_rng(0).standard_normal((4, head.model.mean.size))
    probe = (head.model.mean + probe * head.model.std).astype(np.float32)
    np.testing.assert_allclose(
        detector.classical_head.logits(probe), head.model.logit(probe), rtol=1e-3, atol=1e-3
    )
    return path
