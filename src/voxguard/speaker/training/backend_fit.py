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
# Test conditions of the development protocol: the enrollment view each is scored against and
# the cohort it is AS-normalised with. "short" tests (under SHORT_BELOW_S of speech) take the
# short path: their own WCCN, no AS-norm (cohort statistics of a half-second embedding are too
# noisy to help), their own calibration.
TEST_CONDITIONS: dict[str, tuple[str, str | None]] = {
    "clean": ("enroll", "clean"),
    "cut2": ("enroll", "clean"),
    "phone": ("enroll_phone", "phone"),
    "babble": ("enroll", "clean"),
    "short": ("enroll", None),
    "short_phone": ("enroll_phone", None),
}
# The conditions reported against the raw GE2E baseline (the hidden evaluation's four).
BENCH_CONDITIONS = ("clean", "cut2", "phone", "babble")
# Which calibration each test condition falls under at serve time (bandwidth and duration).
CALIBRATION_GROUP = {
    "clean": "clean",
    "cut2": "clean",
    "babble": "clean",
    "phone": "phone",
    "short": "short",
    "short_phone": "short_phone",
}
SHORT_BELOW_S = 1.0
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
SHORT_WCCN_VIEWS = (*WCCN_VIEWS, "enroll_short", "enroll_short_phone")


def fit_wccn(
    table: EmbeddingTable,
    speakers: Sequence[str],
    views: Sequence[str] = WCCN_VIEWS,
    shrink: float = WCCN_SHRINK,
) -> Wccn:
    """Within-class covariance normalisation with shrinkage towards a scaled identity."""
    rows, labels = [], []
    for index, speaker in enumerate(speakers):
        for view in views:
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


@dataclass(frozen=True)
class FittedBackend:
    wccn: Wccn
    wccn_short: Wccn
    cohorts: dict[str, Matrix]  # raw embeddings per condition

    def asnorms(self, top_k: int = ASNORM_TOP_K) -> dict[str, AsNorm]:
        return {c: AsNorm(self.wccn.apply(m), top_k) for c, m in self.cohorts.items()}


def fit_backend(table: EmbeddingTable, speakers: Sequence[str]) -> FittedBackend:
    return FittedBackend(
        wccn=fit_wccn(table, speakers),
        wccn_short=fit_wccn(table, speakers, SHORT_WCCN_VIEWS),
        cohorts={c: cohort_matrix(table, speakers, c) for c in COHORT_VIEWS},
    )


def score_conditions(
    table: EmbeddingTable,
    trial_speakers: Sequence[str],
    fitted: FittedBackend | None,
    conditions: Sequence[str] = tuple(TEST_CONDITIONS),
    cohorts: Mapping[str, AsNorm] | None = None,
) -> dict[str, ConditionScores]:
    """All-against-all trials (each speaker's enrollment vs every speaker's test).

    ``fitted=None`` scores plain cosine (optionally AS-normalised with ``cohorts``): the
    baseline and the ablations.
    """
    if fitted is not None and cohorts is None:
        cohorts = fitted.asnorms()
    out = {}
    n = len(trial_speakers)
    labels = np.eye(n, dtype=bool).reshape(-1)
    for condition in conditions:
        enroll_view, cohort_name = TEST_CONDITIONS[condition]
        enroll = np.stack([table[s][enroll_view] for s in trial_speakers]).astype(np.float32)
        test = np.stack([table[s][f"test_{condition}"] for s in trial_speakers]).astype(np.float32)
        if fitted is None:
            enroll, test = unit_rows(enroll), unit_rows(test)
        else:
            wccn = fitted.wccn if cohort_name is not None else fitted.wccn_short
            enroll, test = wccn.apply(enroll), wccn.apply(test)
        raw = enroll @ test.T
        if cohorts is not None and cohort_name is not None:
            cohort = cohorts[cohort_name]
            e_mean, e_std = cohort.stats_many(enroll)
            t_mean, t_std = cohort.stats_many(test)
            raw = 0.5 * (
                (raw - e_mean[:, None]) / e_std[:, None] + (raw - t_mean[None, :]) / t_std[None, :]
            )
        out[condition] = ConditionScores(raw.reshape(-1).astype(np.float64), labels)
    return out


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
        scores = score_conditions(table, halves[fold], fitted)
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
