"""A retrained read-out as a servable model: ONNX + sidecar (+ DET plot) in one folder."""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from voxguard.spoof.classical_head import HEAD_KEY
from voxguard.spoof.detector import SIDECAR_NAME, SpoofDetector
from voxguard.training.readout.fit import FitResult, det_plot

DET_PLOT = "det.png"


def write_candidate(
    base: SpoofDetector,
    fit: FitResult,
    stats_dims: int,
    version: str,
    training_data: dict[str, Any],
    out_dir: Path,
) -> Path:
    """Write the model into ``out_dir`` (created); the sidecar's path."""
    from voxguard.training.readout.graph import write_readout

    out_dir.mkdir(parents=True, exist_ok=True)
    model_file = base.sidecar.model_file
    write_readout(base.model_path, fit.readout, stats_dims, out_dir / model_file)
    digest = hashlib.sha256((out_dir / model_file).read_bytes()).hexdigest()
    keep = ("format", "inputs", "output", "labels", "features", "aggregation", "augmentation")
    sidecar = {k: v for k, v in base.sidecar.raw.items() if k in keep}
    sidecar |= {
        "model_file": model_file,
        "sha256": digest,
        "calibration": fit.calibration,
        "threshold": 0.5,
        "version": version,
        "parent": base.sidecar.version,
        "architecture": "the parent's graph with its two read-outs (and the weight of its "
        "non-linear branch, where it has one; the branch itself is kept) refitted as one "
        "logistic regression (scikit-learn, grid search over C and class weights) on the "
        "parent's own window features of uploaded recordings; parent: "
        f"{base.sidecar.raw.get('architecture')}",
        "training_data": training_data,
        "metrics": {"protocol": "held-out uploaded recordings", **fit.metrics},
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    head = base.sidecar.raw.get(HEAD_KEY)
    if head is not None:  # the classical-TTS head reads the same statistics: it carries over
        head_file = str(head["model_file"])
        shutil.copyfile(base.model_path.parent / head_file, out_dir / head_file)
        sidecar[HEAD_KEY] = head
    path = out_dir / SIDECAR_NAME
    path.write_text(json.dumps(sidecar, indent=1) + "\n")
    scores = {"candidate": fit.held_out_scores["candidate"], "base": fit.held_out_scores["base"]}
    (out_dir / DET_PLOT).write_bytes(
        det_plot(scores, fit.held_out_scores["labels"], f"held-out uploaded recordings: {version}")
    )
    return path
