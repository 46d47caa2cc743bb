"""Copies of the bundled spoof model with an edited calibration, for the spoof tests."""

import json
import shutil
from pathlib import Path

from voxguard.models import bundled_model_path


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
