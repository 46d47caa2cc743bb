"""Cosine scoring with adaptive symmetric score normalisation (AS-norm) against a cohort.

AS-norm (Matejka et al., Interspeech 2017): each side of a trial is compared with the cohort,
the ``top_k`` closest cohort scores give a mean and deviation, and the raw cosine is
standardised against both sides and averaged. Scores of different speakers then share one
scale, so one threshold works for everybody.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from voxguard.speaker.types import Vector

_MIN_STD = 1e-3


@dataclass(frozen=True)
class CohortStats:
    mean: float
    std: float


def cosine(a: Vector, b: Vector) -> float:
    denom = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(np.dot(a, b) / denom) if denom > 0 else 0.0


def unit_rows(matrix: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    out: npt.NDArray[np.float32] = (matrix / np.maximum(norms, 1e-12)).astype(np.float32)
    return out


class AsNorm:
    """Adaptive S-norm against one cohort matrix (rows L2-normalised)."""

    def __init__(self, cohort: npt.NDArray[np.float32], top_k: int = 100) -> None:
        if cohort.ndim != 2 or cohort.shape[0] < 2:
            raise ValueError("an AS-norm cohort needs at least two embeddings")
        self.cohort = unit_rows(cohort.astype(np.float32))
        self.top_k = int(min(top_k, self.cohort.shape[0]))

    def stats(self, vector: Vector) -> CohortStats:
        scores = self.cohort @ (vector / max(float(np.linalg.norm(vector)), 1e-12))
        top = np.partition(scores, scores.size - self.top_k)[-self.top_k :]
        return CohortStats(float(top.mean()), max(float(top.std()), _MIN_STD))

    def stats_many(self, vectors: npt.NDArray[np.float32]) -> tuple[np.ndarray, np.ndarray]:
        """Cohort mean and deviation of each row (vectorised, for galleries and evaluation)."""
        scores = unit_rows(vectors) @ self.cohort.T
        top = np.partition(scores, scores.shape[1] - self.top_k, axis=1)[:, -self.top_k :]
        return top.mean(axis=1), np.maximum(top.std(axis=1), _MIN_STD)

    @staticmethod
    def combine(raw: float | np.ndarray, enroll: CohortStats, test: CohortStats) -> float:
        return float(0.5 * ((raw - enroll.mean) / enroll.std + (raw - test.mean) / test.std))

    def normalize(self, raw: float, enroll: Vector, test: Vector) -> float:
        return self.combine(raw, self.stats(enroll), self.stats(test))
