"""Bundled model files, found with importlib.resources so they work from a wheel or a checkout."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any


def bundled_model_path(*parts: str) -> Path:
    """Path of a file shipped under ``voxguard/models``."""
    resource = resources.files("voxguard.models").joinpath(*parts)
    return Path(str(resource))


def cpu_session(model: Path | bytes, threads: int = 1) -> Any:
    """An onnxruntime CPU session with quiet logs and a fixed thread count (deterministic)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    source = model if isinstance(model, bytes) else str(model)
    return ort.InferenceSession(source, sess_options=options, providers=["CPUExecutionProvider"])
