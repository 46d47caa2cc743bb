"""Fit WCCN channel compensation, cohorts and per-condition calibration from embeddings.

Input is a table of raw GE2E embeddings per speaker and per view (clean utterance, half
utterances, 2 s cuts, phone and babble copies). The recipe is used twice: by
``scripts/fit_speaker_backend.py`` on every LibriSpeech speaker for the shipped artifact, and
by ``bench/speaker_accuracy.py`` in two folds (fit on one half of the speakers, measure on the
other) for honest numbers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from voxguard.evaluation.metrics import eer
from voxguard.speaker.backend import Wccn
from voxguard.speaker.calibration import LinearCalibration, fit_calibration
from voxguard.speaker.scoring import AsNorm, unit_rows

Matrix = npt.NDArray[np.float32]
# speaker -> view name -> raw embedding
EmbeddingTable = Mapping[str, Mapping[str, npt.NDArray[np.float32]]]

WCCN_SHRINK = 0.6
ASNORM_TOP_K = 50
# Test conditions of the development protocol and the (enroll view, cohort) each is scored with.
TEST_CONDITIONS = {
    "clean": ("enroll", "clean"),
    "cut2": ("enroll", "clean"),
    "phone": ("enroll_phone", "phone"),
    "babble": ("enroll", "clean"),
}
# Which calibration each test condition falls under at serve time (by detected bandwidth).
CALIBRATION_GROUP = {"clean": "clean", "cut2": "clean", "babble": "clean", "phone": "phone"}
COHORT_VIEWS = {"clean": "full", "phone": "full_phone"}
WCCN_VIEWS = (
    "full",
    "full_phone",
    "enroll",
    "enroll_phone",
    "test_clean",
    "test_cut2",
    "test_phone",
    "test_babble",
)


def fit_wccn(table: EmbeddingTable, speakers: Sequence[str], shrink: float = WCCN_SHRINK) -> Wccn:
    """Within-class covariance normalisation with shrinkage towards a scaled identity."""
    rows, labels = [], []
    for index, speaker in enumerate(speakers):
        for view in WCCN_VIEWS:
            if view in table[speaker]:
                rows.append(table[speaker][view])
                labels.append(index)
    x = unit_rows(np.stack(rows).astype(np.float32)).astype(np.float64)
    y = np.asarray(labels)
    mean = x.mean(axis=0)
    centred = x - mean
    within = np.zeros((x.shape[1], x.shape[1]))
    for label in np.unique(y):
        deviations = centred[y == label] - centred[y == label].mean(axis=0)
        within += deviations.T @ deviations
    within /= x.shape[0]
    dim = within.shape[0]
    within = (1 - shrink) * within + shrink * np.trace(within) / dim * np.eye(dim)
    values, vectors = np.linalg.eigh(within)
    transform = vectors @ np.diag(values**-0.5) @ vectors.T
    return Wccn(mean.astype(np.float32), transform.astype(np.float32))


def cohort_matrix(table: EmbeddingTable, speakers: Sequence[str], condition: str) -> Matrix:
    return np.stack([table[s][COHORT_VIEWS[condition]] for s in speakers]).astype(np.float32)


@dataclass(frozen=True)
class ConditionScores:
    scores: npt.NDArray[np.float64]  # AS-normalised, enroll x test flattened
    labels: npt.NDArray[np.bool_]


def score_conditions(
    table: EmbeddingTable,
    trial_speakers: Sequence[str],
    wccn: Wccn | None,
    cohorts: Mapping[str, AsNorm] | None,
) -> dict[str, ConditionScores]:
    """All-against-all trials (each speaker's enrollment vs every speaker's test)."""

    def project(matrix: Matrix) -> Matrix:
        return wccn.apply(matrix) if wccn is not None else unit_rows(matrix)

    out = {}
    n = len(trial_speakers)
    labels = np.eye(n, dtype=bool).reshape(-1)
    for condition, (enroll_view, cohort_name) in TEST_CONDITIONS.items():
        enroll = project(np.stack([table[s][enroll_view] for s in trial_speakers]))
        test = project(np.stack([table[s][f"test_{condition}"] for s in trial_speakers]))
        raw = enroll @ test.T
        if cohorts is not None:
            cohort = cohorts[cohort_name]
            e_mean, e_std = cohort.stats_many(enroll)
            t_mean, t_std = cohort.stats_many(test)
            raw = 0.5 * (
                (raw - e_mean[:, None]) / e_std[:, None] + (raw - t_mean[None, :]) / t_std[None, :]
            )
        out[condition] = ConditionScores(raw.reshape(-1).astype(np.float64), labels)
    return out


@dataclass(frozen=True)
class FittedBackend:
    wccn: Wccn
    cohorts: dict[str, Matrix]  # raw embeddings per condition

    def asnorms(self, top_k: int = ASNORM_TOP_K) -> dict[str, AsNorm]:
        return {c: AsNorm(self.wccn.apply(m), top_k) for c, m in self.cohorts.items()}


def fit_backend(table: EmbeddingTable, speakers: Sequence[str]) -> FittedBackend:
    return FittedBackend(
        wccn=fit_wccn(table, speakers),
        cohorts={c: cohort_matrix(table, speakers, c) for c in COHORT_VIEWS},
    )


def speaker_folds(speakers: Sequence[str], seed: int) -> list[list[str]]:
    """Two disjoint halves of ``speakers`` (seeded)."""
    order = np.random.default_rng(seed).permutation(len(speakers))
    return [
        [speakers[i] for i in sorted(order[: len(order) // 2])],
        [speakers[i] for i in sorted(order[len(order) // 2 :])],
    ]


def two_fold_scores(
    table: EmbeddingTable, speakers: Sequence[str], seed: int = 0
) -> dict[str, ConditionScores]:
    """Scores of every speaker's trials with a back end fitted on the other half only."""
    halves = speaker_folds(speakers, seed)
    pooled: dict[str, list[ConditionScores]] = {c: [] for c in TEST_CONDITIONS}
    for fold in (0, 1):
        fitted = fit_backend(table, halves[1 - fold])
        scores = score_conditions(table, halves[fold], fitted.wccn, fitted.asnorms())
        for condition, result in scores.items():
            pooled[condition].append(result)
    return {
        c: ConditionScores(
            np.concatenate([r.scores for r in parts]), np.concatenate([r.labels for r in parts])
        )
        for c, parts in pooled.items()
    }


def fit_calibrations(scores: Mapping[str, ConditionScores]) -> dict[str, LinearCalibration]:
    groups: dict[str, list[ConditionScores]] = {}
    for condition, result in scores.items():
        groups.setdefault(CALIBRATION_GROUP[condition], []).append(result)
    return {
        group: fit_calibration(
            np.concatenate([r.scores for r in parts]), np.concatenate([r.labels for r in parts])
        )
        for group, parts in groups.items()
    }


def eer_percent(result: ConditionScores) -> float:
    return 100.0 * eer(result.scores, result.labels)
