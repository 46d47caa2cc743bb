"""Bundled model files, found with importlib.resources so they work from a wheel or a checkout."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any


def bundled_model_path(*parts: str) -> Path:
    """Path of a file shipped under ``voxguard/models``."""
    resource = resources.files("voxguard.models").joinpath(*parts)
    return Path(str(resource))


def session_options(threads: int = 1) -> Any:
    """onnxruntime session options for every VoxGuard model: quiet logs, a fixed thread count
    (deterministic), and no CPU memory arena: each session's arena keeps the largest tensors
    it has served, about 30 MB per serving process after checks four at a time, and these
    small models run as fast without it (``bench/server_memory.py``, docs/performance.md)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    options.enable_cpu_mem_arena = False
    return options


def cpu_session(model: Path | bytes, threads: int = 1) -> Any:
    """An onnxruntime CPU session (``session_options``). onnxruntime is imported here, when a
    model loads, so that importing VoxGuard's modules loads no inference library."""
    import onnxruntime as ort

    source = model if isinstance(model, bytes) else str(model)
    return ort.InferenceSession(
        source, sess_options=session_options(threads), providers=["CPUExecutionProvider"]
    )
