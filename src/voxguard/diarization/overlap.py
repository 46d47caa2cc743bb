"""Overlapped-speech detection: is more than one speaker talking in this 10 ms frame?

A small dilated 1-D CNN (``models/overlap``, trained by ``voxguard.training.overlap``) reads
per-frame features on the diarizer's frame grid and returns a probability per frame. The
features are computed here, for training and serving alike:

- the recording's log-mel spectrum (GE2E's 40 bands) and log energy, each less its median
  over the speech, so that level and channel drop out;
- the VAD's speech mask (an overlap has no pause in it);
- the best and second-best similarity of the covering windows to a speaker centroid, and
  their gap (windows over two voices resemble both speakers).

The CNN sees about 1.2 s of context either way (dilations 1 to 16).

A second network of the same kind over the same features (``models/background``) gives each
frame the probability that the VAD's speech there is background only: no talker of the
conversation, only a crowd behind them (trained on babble: other readers 10 dB under).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from voxguard.audio.types import FloatArray
from voxguard.errors import ModelMismatch
from voxguard.models import bundled_model_path, check_sha256, cpu_session, read_model_files

FEATURE_VERSION = 1
ACOUSTIC_FEATURES = (*(f"logmel{band:02d}" for band in range(40)), "log_energy")
SCORE_FEATURES = ("speech", "best_similarity", "second_similarity", "similarity_gap")
FEATURES = (*ACOUSTIC_FEATURES, *SCORE_FEATURES)


def acoustic_features(mel: FloatArray, speech: np.ndarray) -> FloatArray:
    """(frames, ``ACOUSTIC_FEATURES``) on the grid of ``speech``, from the recording's power
    mel spectrogram (GE2E's, one row per frame, at least ``speech.size`` rows). Two voices
    at once are louder than either: the level against the recording's median is the
    strongest single cue."""
    n = speech.size
    log_mel = np.log10(mel[:n].astype(np.float64) + 1e-8)
    log_energy = np.log10(mel[:n].sum(axis=1, dtype=np.float64) + 1e-8)[:, None]
    levels = np.concatenate([log_mel, log_energy], axis=1)
    reference = levels[speech] if speech.any() else levels
    levels -= np.median(reference, axis=0, keepdims=True)
    return levels.astype(np.float32)


def score_features(speech: np.ndarray, scores: FloatArray) -> FloatArray:
    """(frames, ``SCORE_FEATURES``): the speech mask and, per frame, the best and second-best
    speaker similarity and their gap (``scores``: frames x speakers, at least two)."""
    ordered = -np.sort(-scores, axis=1)
    best, second = ordered[:, 0], ordered[:, 1]
    return np.stack([speech.astype(np.float32), best, second, best - second], axis=1).astype(
        np.float32
    )


@dataclass(frozen=True)
class OverlapSpec:
    """What the sidecar promises; checked against the code's feature list and the graph."""

    model_version: str
    features: tuple[str, ...]
    feature_version: int
    hop_s: float
    sample_rate: int
    onnx_sha256: str

    @classmethod
    def from_sidecar(cls, data: dict[str, Any]) -> OverlapSpec:
        try:
            return cls(
                model_version=str(data["model_version"]),
                features=tuple(str(f) for f in data["input"]["features"]),
                feature_version=int(data["feature_version"]),
                hop_s=float(data["hop_s"]),
                sample_rate=int(data["sample_rate"]),
                onnx_sha256=str(data["onnx_sha256"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelMismatch(f"detector sidecar is incomplete or malformed: {exc}") from exc


class FrameDetector:
    """A per-frame CNN over ``FEATURES`` (``models/<name>``), loaded once and checked against
    its sidecar; thread-safe (one onnxruntime session)."""

    name = "frame"

    def __init__(self, model_dir: Path | None = None, threads: int = 1) -> None:
        model_dir = model_dir or bundled_model_path(self.name)
        onnx_path = model_dir / f"{self.name}.onnx"
        sidecar_path = model_dir / f"{self.name}.json"
        sidecar, model_bytes = read_model_files(
            onnx_path,
            sidecar_path,
            self.name,
            f"{self.name} detector missing in {model_dir}: run "
            "python -m voxguard.training.overlap or reinstall.",
        )
        self.spec = OverlapSpec.from_sidecar(sidecar)
        if self.spec.features != FEATURES or self.spec.feature_version != FEATURE_VERSION:
            raise ModelMismatch(
                f"{sidecar_path} was trained on other features (version "
                f"{self.spec.feature_version}) than this code computes (version {FEATURE_VERSION})."
            )
        check_sha256(model_bytes, self.spec.onnx_sha256, onnx_path)
        self._session = cpu_session(model_bytes, threads)
        inputs = self._session.get_inputs()
        if len(inputs) != 1 or inputs[0].name != "features" or inputs[0].shape[1] != len(FEATURES):
            raise ModelMismatch(
                f"{self.name} ONNX input is not (1, {len(FEATURES)}, frames) named 'features'."
            )

    @property
    def model_version(self) -> str:
        return self.spec.model_version

    def probabilities(self, features: FloatArray) -> FloatArray:
        """The model's probability per frame of ``features`` (frames, ``FEATURES``)."""
        if features.shape[0] == 0:
            return np.zeros(0, dtype=np.float32)
        batch = np.ascontiguousarray(features.T[None].astype(np.float32))
        (out,) = self._session.run(None, {"features": batch})
        result: FloatArray = np.asarray(out, dtype=np.float32).reshape(-1)
        return result


class OverlapDetector(FrameDetector):
    """Probability per frame that two or more speakers talk (``models/overlap``)."""

    name = "overlap"


class BackgroundDetector(FrameDetector):
    """Probability per frame that the VAD's speech is background only, no talker of the
    conversation (``models/background``)."""

    name = "background"
