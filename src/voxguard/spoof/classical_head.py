"""The optional classical-TTS head: a small read-out of each window's spectral statistics that
catches formant, diphone and HMM synthesis (espeak-ng, Flite, Festival, Pico, RHVoice), which
the main model lets pass.

It is fused so that it can only raise P(synthetic): per window and for the file,
``p = 1 - (1 - p_main) (1 - p_head)``, where ``p_head`` is the head's calibrated probability
when its logit reaches the gate of the calibration block that scores the clip, else 0. The
gates are set from a false-alarm target on genuine speech through every channel, so the head
stays silent on honest callers and speaks only when it is sure. The head is described by the
``classical_tts_head`` block of the spoof sidecar; a sidecar without it scores as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.special import expit

from voxguard.audio.types import CHANNELS, Channel, FloatArray
from voxguard.errors import ModelMismatch
from voxguard.models import cpu_session, read_checked

HEAD_KEY = "classical_tts_head"
FUSION = "noisy_or"
INPUT_KIND = "spectral_statistics"


@dataclass(frozen=True)
class ClassicalHeadSpec:
    """What the sidecar says of the head: its ONNX file, its input, its calibration
    ``sigmoid(scale * logit + offset)`` and the logit gate of each calibration block."""

    model_file: str
    sha256: str
    input_name: str
    input_dims: int
    output_name: str
    scale: float
    offset: float
    gates: dict[str, float]


def _field(entry: dict[str, Any], key: str, path: Path) -> Any:
    if key not in entry:
        raise ModelMismatch(
            f"spoof model sidecar {path}: {HEAD_KEY} lacks the field '{key}'",
            field=f"{HEAD_KEY}.{key}",
        )
    return entry[key]


def parse_head(entry: Any, path: Path) -> ClassicalHeadSpec | None:
    """The sidecar's ``classical_tts_head`` block (None when it has none), validated."""
    if entry is None:
        return None
    if not isinstance(entry, dict):
        raise ModelMismatch(f"spoof model sidecar {path}: {HEAD_KEY} must be an object")
    if entry.get("fusion") != FUSION:
        raise ModelMismatch(
            f"spoof model sidecar {path}: {HEAD_KEY}.fusion is {entry.get('fusion')!r}; "
            f"accepted: {FUSION}",
            field=f"{HEAD_KEY}.fusion",
        )
    model_input = _field(entry, "input", path)
    calibration = _field(entry, "calibration", path)
    gates = _field(entry, "gates", path)
    try:
        if model_input["kind"] != INPUT_KIND:
            raise ValueError(f"input kind {model_input['kind']!r}, accepted: {INPUT_KIND}")
        if not isinstance(gates, dict) or set(gates) != set(CHANNELS):
            raise ValueError(f"gates must name exactly the blocks {', '.join(CHANNELS)}")
        return ClassicalHeadSpec(
            model_file=str(_field(entry, "model_file", path)),
            sha256=str(_field(entry, "sha256", path)),
            input_name=str(model_input["name"]),
            input_dims=int(model_input["shape"][1]),
            output_name=str(_field(entry, "output", path)["name"]),
            scale=float(calibration["scale"]),
            offset=float(calibration["offset"]),
            gates={block: float(value) for block, value in gates.items()},
        )
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise ModelMismatch(
            f"spoof model sidecar {path}: bad {HEAD_KEY} block ({exc})", field=HEAD_KEY
        ) from exc


def fuse(main: np.ndarray | float, head: np.ndarray | float) -> np.ndarray:
    """Noisy-OR of two probabilities: never below either of them, and exactly ``main``
    where the head gives 0 (rounding in ``1 - (1 - main)`` must not move a verdict)."""
    main_p, head_p = np.asarray(main, dtype=np.float64), np.asarray(head, dtype=np.float64)
    noisy_or = np.maximum(main_p, 1.0 - (1.0 - main_p) * (1.0 - head_p))
    return np.asarray(np.where(head_p > 0.0, noisy_or, main_p))


def gated_probability(
    spec: ClassicalHeadSpec, logits: np.ndarray | float, channel: Channel
) -> np.ndarray:
    """The head's calibrated probability where its logit reaches the block's gate, else 0."""
    values = np.asarray(logits, dtype=np.float64)
    calibrated = expit(spec.scale * values + spec.offset)
    return np.asarray(np.where(values >= spec.gates[channel], calibrated, 0.0))


class ClassicalTtsHead:
    """The head's ONNX session, checked against its sidecar block at load."""

    def __init__(self, spec: ClassicalHeadSpec, directory: Path, threads: int = 1) -> None:
        self.spec = spec
        path = directory / spec.model_file
        model_bytes = read_checked(
            path,
            spec.sha256,
            what="classical-TTS head",
            named_by="sidecar block",
            fix=f"the spoof sidecar names it ({HEAD_KEY}.model_file): reinstall voxguard or "
            "drop the block",
        )
        self._session = cpu_session(model_bytes, threads)
        inputs = [(i.name, i.shape[-1]) for i in self._session.get_inputs()]
        if inputs != [(spec.input_name, spec.input_dims)]:
            raise ModelMismatch(
                f"classical-TTS head {path} takes {inputs}; its sidecar block names "
                f"{[(spec.input_name, spec.input_dims)]}"
            )

    def logits(self, stats: FloatArray) -> FloatArray:
        """The head's logit of each window's spectral statistics (windows, dims)."""
        if stats.shape[-1] != self.spec.input_dims:
            raise ModelMismatch(
                f"classical-TTS head takes {self.spec.input_dims} statistics per window, "
                f"got {stats.shape[-1]}"
            )
        (out,) = self._session.run(
            [self.spec.output_name], {self.spec.input_name: stats.astype(np.float32)}
        )
        return np.asarray(out, dtype=np.float32).reshape(-1)

    def probability(self, logits: np.ndarray | float, channel: Channel) -> np.ndarray:
        return gated_probability(self.spec, logits, channel)
