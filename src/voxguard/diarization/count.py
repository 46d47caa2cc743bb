"""A learned number of speakers: a small multinomial logistic regression over what the spectral
step of the clustering already computes (the eigengaps of the normalised Laplacian, the
eigengap's own estimate, how many windows there are and how alike they all are).

The model ships as two JSON files under ``models/speaker_count`` (trained by
``voxguard.training.speaker_count``): ``coefficients.json`` (feature scaling, weights,
classes) and its sidecar ``speaker_count.json`` (features, version, sha256 of the
coefficients, training data, measured metrics). Serving needs only numpy.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from voxguard.audio.types import FloatArray
from voxguard.errors import ModelMismatch
from voxguard.models import bundled_model_path, check_sha256, load_optional, read_model_files

FEATURE_VERSION = 1
COUNT_GAPS = 6  # eigengaps after the 1st to the 6th eigenvalue, each as a share of the largest
COUNT_FEATURES = (
    *(f"gap{k}_share" for k in range(1, COUNT_GAPS + 1)),
    "log_max_gap",
    "eigengap_count",  # the largest gap (share 1.0)
    "eigengap_count_share",  # ClusteringParams.eigengap_share's count
    "log_windows",
    "similarity_median",  # of the raw cosine similarity between windows: a channel that
    "similarity_p10",  # makes every voice alike (a phone line) raises both
)
NAME = "speaker_count"
COEFFICIENTS = "coefficients.json"


@dataclass(frozen=True)
class SpeakerCountModel:
    """Standardised features -> logits -> the most likely number of speakers."""

    classes: tuple[int, ...]
    mean: FloatArray  # (features,)
    scale: FloatArray  # (features,)
    coef: FloatArray  # (classes, features)
    intercept: FloatArray  # (classes,)
    model_version: str

    def probabilities(self, features: FloatArray) -> FloatArray:
        """Probability of each of ``classes`` for one feature vector (``COUNT_FEATURES``)."""
        logits = self.coef @ ((features - self.mean) / self.scale) + self.intercept
        logits = logits - logits.max()
        odds = np.exp(logits)
        result: FloatArray = (odds / odds.sum()).astype(np.float64)
        return result

    def predict(self, features: FloatArray, limit: int) -> int:
        """The most likely number of speakers, at most ``limit``."""
        best = self.classes[int(np.argmax(self.probabilities(features)))]
        return max(1, min(best, limit))

    @classmethod
    def from_files(cls, model_dir: Path) -> SpeakerCountModel:
        """Read and check ``model_dir``'s coefficients against their sidecar: ``ModelUnavailable``
        when a file is missing, ``ModelMismatch`` when they disagree with each other or with the
        features this code computes."""
        coefficients = model_dir / COEFFICIENTS
        sidecar_path = model_dir / f"{NAME}.json"
        sidecar, raw = read_model_files(
            coefficients,
            sidecar_path,
            "speaker count",
            f"speaker count model missing in {model_dir}: run "
            "python -m voxguard.training.speaker_count train or reinstall.",
        )
        try:
            features = tuple(str(f) for f in sidecar["features"])
            version, expected = int(sidecar["feature_version"]), str(sidecar["coefficients_sha256"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelMismatch(f"speaker count sidecar is incomplete: {exc}") from exc
        if features != COUNT_FEATURES or version != FEATURE_VERSION:
            raise ModelMismatch(
                f"{sidecar_path} was trained on other features (version {version}) than this "
                f"code computes (version {FEATURE_VERSION})."
            )
        check_sha256(raw, expected, coefficients)
        return cls._parse(json.loads(raw), str(sidecar.get("model_version", "")))

    @classmethod
    def _parse(cls, data: dict[str, Any], version: str) -> SpeakerCountModel:
        try:
            model = cls(
                classes=tuple(int(c) for c in data["classes"]),
                mean=np.asarray(data["mean"], dtype=np.float64),
                scale=np.asarray(data["scale"], dtype=np.float64),
                coef=np.asarray(data["coef"], dtype=np.float64),
                intercept=np.asarray(data["intercept"], dtype=np.float64),
                model_version=version,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelMismatch(f"speaker count coefficients are malformed: {exc}") from exc
        shape = (len(model.classes), len(COUNT_FEATURES))
        if model.coef.shape != shape or model.intercept.shape != shape[:1]:
            raise ModelMismatch(f"speaker count coefficients are not {shape} with an intercept.")
        return model


@lru_cache(maxsize=4)
def _cached(model_dir: Path) -> SpeakerCountModel:
    return SpeakerCountModel.from_files(model_dir)


def load_count_model(model_dir: str | None = None) -> SpeakerCountModel | None:
    """The model in ``model_dir`` (None: the bundled one), read once per folder; None when it
    is missing, so that the caller falls back to the eigengap (with a warning). A model that
    is there but does not match its sidecar raises ``ModelMismatch``."""
    folder = Path(model_dir) if model_dir else bundled_model_path(NAME)
    return load_optional(folder, _cached, "the eigengap counts the speakers instead")
