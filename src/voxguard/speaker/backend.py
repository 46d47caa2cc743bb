"""The scoring back end of the GE2E model: channel compensation, cohort, calibration.

Loaded from ``models/ge2e/backend.json`` (versioned, human-readable: calibration, thresholds,
protocol, measured metrics) and ``backend.npz`` (WCCN transform and cohort embeddings), both
written by ``scripts/fit_speaker_backend.py`` and checked against each other and the model.

Scoring a trial: both embeddings (and the cohort) go through WCCN, a within-speaker whitening
learned on clean, shortened, phone and babble copies of speakers disjoint from the ones it is
measured on; the cosine is AS-normalised against the cohort of the test's channel condition;
a per-condition logistic calibration turns the normalised score into an LLR.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from voxguard.errors import ModelMismatch, ModelUnavailable
from voxguard.models import bundled_model_path
from voxguard.speaker.calibration import LinearCalibration
from voxguard.speaker.scoring import AsNorm, unit_rows
from voxguard.speaker.types import Vector

Matrix = npt.NDArray[np.float32]
BACKEND_FORMAT = 1


@dataclass(frozen=True)
class Wccn:
    """``x -> normalise((x - mean) @ transform)``."""

    mean: Vector
    transform: Matrix

    def apply(self, vectors: Matrix) -> Matrix:
        return unit_rows(((vectors - self.mean) @ self.transform).astype(np.float32))

    def apply_one(self, vector: Vector) -> Vector:
        out: Vector = self.apply(vector[None, :])[0]
        return out


@dataclass(frozen=True)
class SpeakerBackend:
    version: str
    model_version: str
    wccn: Wccn | None
    cohorts: dict[str, AsNorm]
    calibrations: dict[str, LinearCalibration]
    narrowband_below_hz: float
    metadata: dict[str, Any]

    def condition_of(self, bandwidth_hz: float) -> str:
        return "phone" if bandwidth_hz < self.narrowband_below_hz else "clean"

    def project(self, vector: Vector) -> Vector:
        return self.wccn.apply_one(vector) if self.wccn is not None else vector

    def cohort(self, condition: str) -> AsNorm:
        return self.cohorts.get(condition, self.cohorts["clean"])

    def calibration(self, condition: str) -> LinearCalibration:
        return self.calibrations.get(condition, self.calibrations["clean"])


def load_backend(model_dir: Path | None = None, model_version: str | None = None) -> SpeakerBackend:
    model_dir = model_dir or bundled_model_path("ge2e")
    json_path, npz_path = model_dir / "backend.json", model_dir / "backend.npz"
    if not json_path.is_file() or not npz_path.is_file():
        raise ModelUnavailable(
            f"Speaker back end missing in {model_dir}: run scripts/fit_speaker_backend.py."
        )
    meta = json.loads(json_path.read_text())
    if int(meta.get("format", 0)) != BACKEND_FORMAT:
        raise ModelMismatch(f"{json_path} has format {meta.get('format')}, need {BACKEND_FORMAT}.")
    if model_version is not None and meta["model_version"] != model_version:
        raise ModelMismatch(
            f"Speaker back end was fitted for {meta['model_version']}, not {model_version}."
        )
    raw = npz_path.read_bytes()
    if hashlib.sha256(raw).hexdigest() != meta["npz_sha256"]:
        raise ModelMismatch(f"{npz_path} does not match the sha256 in {json_path.name}.")
    with np.load(npz_path) as arrays:
        wccn = (
            Wccn(
                arrays["wccn_mean"].astype(np.float32), arrays["wccn_transform"].astype(np.float32)
            )
            if "wccn_transform" in arrays
            else None
        )
        top_k = int(meta["asnorm_top_k"])
        cohorts = {}
        for condition in meta["conditions"]:
            members = arrays[f"cohort_{condition}"].astype(np.float32)
            cohorts[condition] = AsNorm(wccn.apply(members) if wccn else members, top_k)
    calibrations = {c: LinearCalibration.from_dict(d) for c, d in meta["calibration"].items()}
    return SpeakerBackend(
        version=str(meta["version"]),
        model_version=str(meta["model_version"]),
        wccn=wccn,
        cohorts=cohorts,
        calibrations=calibrations,
        narrowband_below_hz=float(meta["narrowband_below_hz"]),
        metadata=meta,
    )
