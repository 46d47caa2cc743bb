"""Score calibration: normalised score -> log-likelihood ratio -> probability, per condition.

The parameters come from ``scripts/fit_speaker_backend.py`` (logistic regression on a
development protocol) and live in the versioned backend artifact next to the model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class LinearCalibration:
    """``llr = scale * score + offset`` (natural log); monotonic increasing when scale > 0."""

    scale: float
    offset: float
    # Thresholds on the normalised score for false-accept rates measured on the dev protocol.
    far_grid: tuple[float, ...] = ()
    far_thresholds: tuple[float, ...] = ()

    def llr(self, score: float) -> float:
        return self.scale * score + self.offset

    @staticmethod
    def probability(llr: float, prior: float = 0.5) -> float:
        """P(same speaker | score) at ``prior``."""
        log_odds = llr + math.log(prior / (1 - prior))
        return float(1.0 / (1.0 + math.exp(-min(max(log_odds, -60.0), 60.0))))

    def threshold_for_far(self, far: float) -> float:
        """Normalised-score threshold with false-accept rate ``far`` on the dev protocol.

        Interpolated in log(FAR) between the stored grid points; clamped at its ends.
        """
        if not self.far_grid:
            return -self.offset / self.scale  # LLR = 0
        grid = np.log(np.asarray(self.far_grid))
        values = np.asarray(self.far_thresholds)
        order = np.argsort(grid)
        return float(np.interp(math.log(far), grid[order], values[order]))

    def to_dict(self) -> dict[str, Any]:
        return {
            "scale": self.scale,
            "offset": self.offset,
            "far_grid": list(self.far_grid),
            "far_thresholds": list(self.far_thresholds),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LinearCalibration:
        return cls(
            scale=float(data["scale"]),
            offset=float(data["offset"]),
            far_grid=tuple(float(x) for x in data.get("far_grid", ())),
            far_thresholds=tuple(float(x) for x in data.get("far_thresholds", ())),
        )


FAR_GRID = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2)


def fit_calibration(scores: np.ndarray, labels: np.ndarray) -> LinearCalibration:
    """Logistic regression on dev scores; the training prior is removed so the output is an LLR.

    Target and non-target trials are weighted equally (effective prior 0.5), so the fitted
    log-odds are LLRs directly.
    """
    from sklearn.linear_model import LogisticRegression

    x = np.asarray(scores, dtype=np.float64).reshape(-1, 1)
    y = np.asarray(labels).astype(int).reshape(-1)
    model = LogisticRegression(C=1e4, class_weight="balanced")
    model.fit(x, y)
    nontarget = np.sort(x[y == 0, 0])
    thresholds = tuple(float(np.quantile(nontarget, 1 - far, method="higher")) for far in FAR_GRID)
    return LinearCalibration(
        scale=float(model.coef_[0, 0]),
        offset=float(model.intercept_[0]),
        far_grid=FAR_GRID,
        far_thresholds=thresholds,
    )
