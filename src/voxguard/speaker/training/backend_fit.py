"""Fit WCCN channel compensation, cohorts and per-condition calibration from embeddings.

Input is a table of raw GE2E embeddings per speaker and per view (clean utterance, half
utterances, 2 s cuts, phone and babble copies). The recipe is used twice: by
``scripts/fit_speaker_backend.py`` on every LibriSpeech speaker for the shipped artifact, and
by ``bench/speaker_accuracy.py`` in two folds (fit on one half of the speakers, measure on the
other) for honest numbers.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.linalg

from voxguard.evaluation.metrics import eer
from voxguard.speaker.backend import Wccn
from voxguard.speaker.calibration import LinearCalibration, fit_calibration
from voxguard.speaker.scoring import AsNorm, unit_rows
from voxguard.speaker.training.views import EXTRA_BABBLE_VIEWS

Matrix = npt.NDArray[np.float32]
# speaker -> view name -> raw embedding
EmbeddingTable = Mapping[str, Mapping[str, npt.NDArray[np.float32]]]

WCCN_SHRINK = 0.6
ASNORM_TOP_K = 50
# Scoring paths: which WCCN a trial is compensated with and which cohort (if any) it is
# AS-normalised against. Each path has its own calibration. The engine picks the path from
# the test's detected condition and speech duration (``SpeakerBackend.path_for``).
# AS-norm helps degraded tests (phone, babble, 2 s) but costs a little on clean long tests,
# where WCCN alone is best; under a second of speech its cohort statistics are too noisy.
# The noisy path has a WCCN of its own that also sees babble at several SNRs and talker counts
# (measured on unseen readers and talkers: docs/speaker-experiments/2026-12-05-babble-unseen.md).
PATHS: dict[str, tuple[str, str | None]] = {
    "clean": ("long", None),
    "noisy": ("noisy", "clean"),
    "phone": ("long", "phone"),
    "mid": ("short", "clean"),
    "short": ("short", None),
    "short_phone": ("short", None),
    # long clean tests against a voiceprint enrolled in noise: the noisy path's WCCN and
    # cohort, a calibration of its own (NOISY_ENROLLMENT_CONDITIONS)
    "noisy_enrolled": ("noisy", "clean"),
}
# Development conditions: the enrollment view each is scored against and its path.
TEST_CONDITIONS: dict[str, tuple[str, str]] = {
    "clean": ("enroll", "clean"),
    "cut2": ("enroll", "mid"),
    "phone": ("enroll_phone", "phone"),
    "babble": ("enroll", "noisy"),
    "short": ("enroll", "short"),
    "short_phone": ("enroll_phone", "short_phone"),
}
# Long clean tests against voiceprints enrolled in noise take a path of their own
# (``SpeakerBackend.path_for``), calibrated on babbled enrollments against clean tests
# (docs/speaker-experiments/2026-12-06-babble-enrollment.md): condition -> (enrollment view,
# path), and the test view of each. Babbled enrollments against babbled tests stay on the
# noisy path and are not part of its calibration.
NOISY_ENROLLMENT_CONDITIONS: dict[str, tuple[str, str]] = {
    "babble_enroll": ("enroll_babble", "noisy_enrolled"),
}
NOISY_ENROLLMENT_TESTS = {"babble_enroll": "test_clean"}
DEV_CONDITIONS = {**TEST_CONDITIONS, **NOISY_ENROLLMENT_CONDITIONS}
# The conditions reported against the raw GE2E baseline (the hidden evaluation's four).
BENCH_CONDITIONS = ("clean", "cut2", "phone", "babble")
SHORT_BELOW_S = 1.0
MID_BELOW_S = 3.0
NOISY_BELOW_SNR_DB = 22.0
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
NOISY_WCCN_VIEWS = (*WCCN_VIEWS, *EXTRA_BABBLE_VIEWS)


def fit_wccn(
    table: EmbeddingTable,
    speakers: Sequence[str],
    views: Sequence[str] = WCCN_VIEWS,
    shrink: float = WCCN_SHRINK,
    dims: int | None = None,
) -> Wccn:
    """Within-class covariance normalisation with shrinkage towards a scaled identity.

    With ``dims``, linear discriminant analysis first: only the ``dims`` directions with the
    most between-speaker variance per unit of (shrunk) within-speaker variance are kept, each
    scaled to unit within-speaker variance (a ``dims``-column transform)."""
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
    if dims is not None:
        between = np.zeros_like(within)
        for label in np.unique(y):
            member = y == label
            offset = centred[member].mean(axis=0)
            between += member.sum() * np.outer(offset, offset)
        between /= x.shape[0]
        # Generalised eigenvectors come out with unit within-speaker variance (V' W V = I).
        _, directions = scipy.linalg.eigh(between, within)
        transform = directions[:, ::-1][:, :dims]
        return Wccn(mean.astype(np.float32), np.ascontiguousarray(transform, dtype=np.float32))
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
    wccns: dict[str, Wccn]  # "long", "short" and "noisy"
    cohorts: dict[str, Matrix]  # raw embeddings per cohort name

    def asnorms(self, wccn: str, top_k: int = ASNORM_TOP_K) -> dict[str, AsNorm]:
        return {c: AsNorm(self.wccns[wccn].apply(m), top_k) for c, m in self.cohorts.items()}

    def npz_bytes(self) -> bytes:
        """The arrays of ``backend.npz`` (``load_backend`` reads them), compressed."""
        arrays: dict[str, Any] = {
            **{f"wccn_{name}_mean": w.mean for name, w in self.wccns.items()},
            **{f"wccn_{name}_transform": w.transform for name, w in self.wccns.items()},
            **{f"cohort_{c}": m.astype(np.float32) for c, m in self.cohorts.items()},
        }
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays)
        return buffer.getvalue()


def write_view_cache(path: Path, table: EmbeddingTable) -> None:
    """The embedding table as one npz, keyed ``speaker/view``."""
    arrays: dict[str, Any] = {f"{s}/{v}": e for s, views in table.items() for v, e in views.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **arrays)


def read_view_cache(path: Path) -> dict[str, dict[str, npt.NDArray[np.float32]]]:
    """The embedding table ``write_view_cache`` wrote."""
    table: dict[str, dict[str, npt.NDArray[np.float32]]] = {}
    with np.load(path) as arrays:
        for key in arrays.files:
            speaker, view = key.split("/", 1)
            table.setdefault(speaker, {})[view] = arrays[key]
    return table


def fit_backend(table: EmbeddingTable, speakers: Sequence[str]) -> FittedBackend:
    return FittedBackend(
        wccns={
            "long": fit_wccn(table, speakers),
            "short": fit_wccn(table, speakers, SHORT_WCCN_VIEWS),
            "noisy": fit_wccn(table, speakers, NOISY_WCCN_VIEWS),
        },
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

    ``fitted=None`` scores plain cosine (optionally AS-normalised with ``cohorts``, for every
    condition): the baseline and the ablations. Otherwise each condition takes its path.
    """
    out = {}
    n = len(trial_speakers)
    labels = np.eye(n, dtype=bool).reshape(-1)
    asnorms = {w: fitted.asnorms(w) for w in fitted.wccns} if fitted is not None else {}
    for condition in conditions:
        enroll_view, path = DEV_CONDITIONS[condition]
        test_view = NOISY_ENROLLMENT_TESTS.get(condition, f"test_{condition}")
        wccn_name, cohort_name = PATHS[path]
        enroll = np.stack([table[s][enroll_view] for s in trial_speakers]).astype(np.float32)
        test = np.stack([table[s][test_view] for s in trial_speakers]).astype(np.float32)
        cohort = None
        if fitted is None:
            enroll, test = unit_rows(enroll), unit_rows(test)
            if cohorts is not None:
                cohort = cohorts["phone" if condition == "phone" else "clean"]
        else:
            wccn = fitted.wccns[wccn_name]
            enroll, test = wccn.apply(enroll), wccn.apply(test)
            cohort = asnorms[wccn_name][cohort_name] if cohort_name is not None else None
        raw = enroll @ test.T
        if cohort is not None:
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
    table: EmbeddingTable,
    speakers: Sequence[str],
    seed: int = 0,
    conditions: Sequence[str] = tuple(TEST_CONDITIONS),
) -> dict[str, ConditionScores]:
    """Scores of every speaker's trials with a back end fitted on the other half only."""
    halves = speaker_folds(speakers, seed)
    pooled: dict[str, list[ConditionScores]] = {c: [] for c in conditions}
    for fold in (0, 1):
        fitted = fit_backend(table, halves[1 - fold])
        scores = score_conditions(table, halves[fold], fitted, conditions)
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
        groups.setdefault(DEV_CONDITIONS[condition][1], []).append(result)
    return {
        group: fit_calibration(
            np.concatenate([r.scores for r in parts]), np.concatenate([r.labels for r in parts])
        )
        for group, parts in groups.items()
    }


def eer_percent(result: ConditionScores) -> float:
    return 100.0 * eer(result.scores, result.labels)
