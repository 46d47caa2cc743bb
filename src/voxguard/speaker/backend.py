"""The scoring back end of the GE2E model: channel compensation, cohort, calibration.

Loaded from ``models/ge2e/backend.json`` (versioned, human-readable: calibration, thresholds,
protocol, measured metrics) and ``backend.npz`` (WCCN transform and cohort embeddings), both
written by ``scripts/fit_speaker_backend.py`` and checked against each other and the model.

Scoring a trial: the test's channel condition (clean, noisy, phone) and speech duration pick a
scoring path; a long clean test against a voiceprint enrolled in noise takes ``noisy_enrolled``
where the back end has it: the noisy path's WCCN and cohort with a calibration of its own,
fitted on babbled enrollments against clean tests. Both embeddings go through
WCCN, a within-speaker whitening learned on clean, shortened, phone and babble copies of
LibriSpeech readers (a "short" one adds sub-second pieces); on degraded paths the cosine is
AS-normalised against the cohort of the matching channel; each path's logistic calibration
turns the score into an LLR.
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
from voxguard.speaker.scoring import AsNorm, cosine, unit_rows
from voxguard.speaker.types import Vector

Matrix = npt.NDArray[np.float32]
BACKEND_FORMAT = 2
# The path of long clean tests against a voiceprint enrolled in noise (back ends from
# ge2e-backend-4 on; an older back end scores them on the clean path). A noisy test takes the
# noisy path whatever the enrollment.
NOISY_ENROLLED = "noisy_enrolled"


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
class ScoringPath:
    """How one kind of trial is scored: which WCCN, which cohort (None: no AS-norm)."""

    wccn: Wccn | None
    cohort: AsNorm | None
    calibration: LinearCalibration


@dataclass(frozen=True)
class SpeakerBackend:
    version: str
    model_version: str
    paths: dict[str, ScoringPath]
    narrowband_below_hz: float
    noisy_below_snr_db: float
    short_below_s: float
    mid_below_s: float
    metadata: dict[str, Any]

    def condition_of(self, bandwidth_hz: float, snr_db: float) -> str:
        """Channel condition of a recording: "phone" (narrowband), "noisy" or "clean"."""
        if bandwidth_hz < self.narrowband_below_hz:
            return "phone"
        return "noisy" if snr_db < self.noisy_below_snr_db else "clean"

    def path_for(self, condition: str, speech_s: float, enrolled_in_noise: bool = False) -> str:
        """The scoring path of a test with this condition and this much speech, against a
        voiceprint enrolled in noise or not (``enrollment.enrolled_in_noise``)."""
        if speech_s < self.short_below_s:
            return "short_phone" if condition == "phone" else "short"
        if condition == "phone":
            return "phone"
        if speech_s < self.mid_below_s:
            return "mid"
        if condition == "noisy":
            return "noisy"
        if enrolled_in_noise and NOISY_ENROLLED in self.paths:
            return NOISY_ENROLLED
        return "clean"

    def path(self, name: str) -> ScoringPath:
        return self.paths[name]


def variant_for(path: str) -> str:
    """Which voiceprint variant a path scores against."""
    return "phone" if path in ("phone", "short_phone") else "clean"


def score_pair(path: ScoringPath, enrolled: Vector, test: Vector) -> tuple[float, float]:
    """(cosine after WCCN, normalised score) of one trial on ``path``."""
    if path.wccn is not None:
        enrolled, test = path.wccn.apply_one(enrolled), path.wccn.apply_one(test)
    raw = cosine(enrolled, test)
    normalized = path.cohort.normalize(raw, enrolled, test) if path.cohort is not None else raw
    return raw, normalized


def _wccn(arrays: Any, name: str) -> Wccn | None:
    if f"{name}_transform" not in arrays:
        return None
    return Wccn(
        arrays[f"{name}_mean"].astype(np.float32), arrays[f"{name}_transform"].astype(np.float32)
    )


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
    calibrations = {p: LinearCalibration.from_dict(d) for p, d in meta["calibration"].items()}
    top_k = int(meta["asnorm_top_k"])
    paths = {}
    with np.load(npz_path) as arrays:
        wccns = {name: _wccn(arrays, f"wccn_{name}") for name in meta["wccns"]}
        for name, spec in meta["paths"].items():
            wccn = wccns[spec["wccn"]]
            cohort = None
            if spec["cohort"] is not None:
                members = arrays[f"cohort_{spec['cohort']}"].astype(np.float32)
                cohort = AsNorm(wccn.apply(members) if wccn else members, top_k)
            paths[name] = ScoringPath(wccn, cohort, calibrations[name])
    return SpeakerBackend(
        version=str(meta["version"]),
        model_version=str(meta["model_version"]),
        paths=paths,
        narrowband_below_hz=float(meta["narrowband_below_hz"]),
        noisy_below_snr_db=float(meta["noisy_below_snr_db"]),
        short_below_s=float(meta["short_below_s"]),
        mid_below_s=float(meta["mid_below_s"]),
        metadata=meta,
    )
