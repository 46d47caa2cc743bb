"""Bundled model files, found with importlib.resources so they work from a wheel or a checkout."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from voxguard.errors import ModelMismatch, ModelUnavailable

logger = logging.getLogger(__name__)
T = TypeVar("T")
_missing_warned: set[Path] = set()


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


def read_model_files(
    onnx_path: Path, sidecar_path: Path, what: str, missing: str
) -> tuple[dict[str, Any], bytes]:
    """A model's parsed JSON sidecar and its ONNX bytes: ``ModelUnavailable`` (``missing``)
    when either file is absent, ``ModelMismatch`` when the sidecar is not JSON (``what``
    names the model in the message)."""
    if not onnx_path.is_file() or not sidecar_path.is_file():
        raise ModelUnavailable(missing)
    try:
        sidecar = json.loads(sidecar_path.read_text())
    except json.JSONDecodeError as exc:
        raise ModelMismatch(f"{what} sidecar {sidecar_path} is not valid JSON: {exc}") from exc
    return sidecar, onnx_path.read_bytes()


def read_checked(
    model_path: Path,
    sha256: str,
    what: str,
    named_by: str = "sidecar",
    fix: str = "reinstall voxguard.",
) -> bytes:
    """The bytes of ``model_path``, read once: ``ModelUnavailable`` (``fix`` says what to do)
    when it is absent, ``ModelMismatch`` unless they hash to the ``sha256`` that ``named_by``
    records (``what`` names the model in both messages)."""
    if not model_path.is_file():
        raise ModelUnavailable(f"{what} missing at {model_path}; {fix}")
    model_bytes = model_path.read_bytes()
    digest = hashlib.sha256(model_bytes).hexdigest()
    if digest != sha256:
        raise ModelMismatch(
            f"{what} {model_path} does not match its {named_by} (sha256 {digest[:12]}..., "
            f"{named_by} says {sha256[:12]}...)"
        )
    return model_bytes


def check_sha256(model_bytes: bytes, expected: str, onnx_path: Path) -> None:
    """``ModelMismatch`` unless ``model_bytes`` hash to the sidecar's ``expected`` sha256."""
    if hashlib.sha256(model_bytes).hexdigest() != expected:
        raise ModelMismatch(f"{onnx_path} does not match the sha256 in its sidecar.")


def load_optional(folder: Path, read: Callable[[Path], T], instead: str) -> T | None:
    """``read(folder)``, or None when the model is missing there (``ModelUnavailable``), with
    one warning per folder that says what is done ``instead``. A model that is there but does
    not match its sidecar still raises ``ModelMismatch``."""
    try:
        return read(folder)
    except ModelUnavailable as exc:
        if folder not in _missing_warned:
            _missing_warned.add(folder)
            logger.warning("%s; %s", exc.message, instead)
        return None
