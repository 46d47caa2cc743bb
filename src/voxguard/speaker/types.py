"""Value types of the speaker engine, shared with the service layer.

These are the contract between the engine and its shells (API, CLI, store): the store keeps
``Voiceprint.to_bytes()`` (encrypted) and rebuilds it with ``Voiceprint.from_bytes``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

Vector = npt.NDArray[np.float32]


class SpeakerEncoder(Protocol):
    """What the engine and the back-end fitting need of a speaker encoder (GE2E, CAM++)."""

    # The bundled model's name (``engine.SPEAKER_MODELS``): its folder of ``models/`` holds the
    # back end fitted on it.
    name: str

    @property
    def model_version(self) -> str: ...

    @property
    def embedding_size(self) -> int: ...

    def embed(self, samples: Vector) -> Vector:
        """L2-normalised embedding of speech-only 16 kHz samples."""
        ...

    def partial_embeddings(self, samples: Vector) -> Vector:
        """(windows, dim) embeddings whose normalised mean is ``embed``'s."""
        ...


@dataclass(frozen=True)
class Embedding:
    """One recording's speaker embedding (L2-normalised)."""

    vector: Vector
    speech_s: float
    model_version: str
    quality: float = 1.0
    # Channel condition detected on the recording: "clean", "noisy" or "phone" (narrowband).
    condition: str = "clean"
    # Embeddings of simulated copies of the same speech (condition -> vector), made for
    # enrollment so a voiceprint can be matched to a test in the same channel condition.
    variants: dict[str, Vector] = field(default_factory=dict)


@dataclass(frozen=True)
class Voiceprint:
    """A speaker model built from one or more embeddings."""

    vector: Vector
    n_samples: int
    speech_s: float
    quality: float
    model_version: str
    extra: dict[str, list[float]] = field(default_factory=dict)

    def to_bytes(self) -> bytes:
        payload = {
            "vector": [float(x) for x in self.vector],
            "n_samples": self.n_samples,
            "speech_s": self.speech_s,
            "quality": self.quality,
            "model_version": self.model_version,
            "extra": self.extra,
        }
        return json.dumps(payload, separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> Voiceprint:
        payload = json.loads(data)
        return cls(
            vector=np.asarray(payload["vector"], dtype=np.float32),
            n_samples=int(payload["n_samples"]),
            speech_s=float(payload["speech_s"]),
            quality=float(payload["quality"]),
            model_version=str(payload["model_version"]),
            extra={k: list(v) for k, v in payload.get("extra", {}).items()},
        )


@dataclass(frozen=True)
class VerificationResult:
    score: float  # raw cosine similarity
    normalized_score: float  # after score normalisation against the cohort
    llr: float  # calibrated natural-log likelihood ratio
    probability: float  # calibrated P(same speaker) at the calibration prior
    accepted: bool
    threshold: float  # on normalized_score


@dataclass(frozen=True)
class Candidate:
    speaker_id: str
    score: float
    normalized_score: float
    probability: float


@dataclass(frozen=True)
class IdentificationResult:
    best: Candidate | None  # None means "unknown": nobody enrolled matched well enough
    candidates: list[Candidate]
