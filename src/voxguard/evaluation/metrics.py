"""Detection metrics: EER, minimum DCF, Cllr, ROC AUC and DET points.

Convention everywhere: a higher score means more "target" (same speaker, or spoof for the
countermeasure when the positive class is spoof). Labels are 1 for target, 0 for non-target.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

ScoreArray = npt.ArrayLike


@dataclass(frozen=True)
class DetectionCurve:
    thresholds: npt.NDArray[np.float64]
    miss_rate: npt.NDArray[np.float64]  # P(score < t | target)
    false_alarm_rate: npt.NDArray[np.float64]  # P(score >= t | non-target)


def _split(scores: ScoreArray, labels: ScoreArray) -> tuple[np.ndarray, np.ndarray]:
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    y = np.asarray(labels).reshape(-1).astype(bool)
    if s.shape != y.shape:
        raise ValueError("scores and labels differ in length")
    tar, non = s[y], s[~y]
    if tar.size == 0 or non.size == 0:
        raise ValueError("need at least one target and one non-target score")
    return tar, non


def detection_curve(scores: ScoreArray, labels: ScoreArray) -> DetectionCurve:
    """Miss and false-alarm rates at every distinct threshold (ties handled exactly)."""
    tar, non = _split(scores, labels)
    all_scores = np.concatenate([tar, non])
    is_target = np.concatenate([np.ones(tar.size), np.zeros(non.size)])
    order = np.argsort(all_scores, kind="mergesort")
    sorted_scores = all_scores[order]
    sorted_target = is_target[order]
    # Thresholds at each distinct score: accept score >= t.
    distinct_last = np.r_[np.nonzero(np.diff(sorted_scores))[0], sorted_scores.size - 1]
    cum_tar = np.cumsum(sorted_target)
    cum_non = np.cumsum(1 - sorted_target)
    # Below the first threshold nothing is missed; after the last everything is.
    miss = np.r_[0.0, cum_tar[distinct_last] / tar.size]
    fa = np.r_[1.0, 1.0 - cum_non[distinct_last] / non.size]
    thresholds = np.r_[sorted_scores[0] - 1e-9, sorted_scores[distinct_last] + 1e-12]
    return DetectionCurve(thresholds=thresholds, miss_rate=miss, false_alarm_rate=fa)


def eer(scores: ScoreArray, labels: ScoreArray) -> float:
    """Equal error rate as a fraction (ROC convex hull, as in the BOSARIS toolkit)."""
    curve = detection_curve(scores, labels)
    pmiss, pfa = curve.miss_rate, curve.false_alarm_rate
    # Interpolate where the two curves cross.
    diff = pmiss - pfa
    idx = int(np.argmax(diff >= 0))
    if idx == 0:
        return float((pmiss[0] + pfa[0]) / 2)
    x1, x2 = diff[idx - 1], diff[idx]
    w = x1 / (x1 - x2) if x1 != x2 else 0.5
    miss_at = pmiss[idx - 1] + w * (pmiss[idx] - pmiss[idx - 1])
    fa_at = pfa[idx - 1] + w * (pfa[idx] - pfa[idx - 1])
    return float((miss_at + fa_at) / 2)


def min_dcf(
    scores: ScoreArray,
    labels: ScoreArray,
    p_target: float = 0.01,
    c_miss: float = 1.0,
    c_fa: float = 1.0,
) -> float:
    """Minimum normalized detection cost over all thresholds."""
    curve = detection_curve(scores, labels)
    cost = c_miss * p_target * curve.miss_rate + c_fa * (1 - p_target) * curve.false_alarm_rate
    default = min(c_miss * p_target, c_fa * (1 - p_target))
    return float(np.min(cost) / default)


def cllr(llrs: ScoreArray, labels: ScoreArray) -> float:
    """Log-likelihood-ratio cost in bits; 1.0 is an uninformative system, 0 is perfect.

    Scores must be natural-log likelihood ratios (calibrated), otherwise Cllr is meaningless.
    """
    tar, non = _split(llrs, labels)
    c_tar = np.mean(np.logaddexp(0.0, -tar)) / np.log(2)
    c_non = np.mean(np.logaddexp(0.0, non)) / np.log(2)
    return float((c_tar + c_non) / 2)


def roc_auc(scores: ScoreArray, labels: ScoreArray) -> float:
    """Probability that a random target outscores a random non-target (ties count half)."""
    tar, non = _split(scores, labels)
    all_scores = np.concatenate([tar, non])
    ranks = _average_ranks(all_scores)
    rank_sum = ranks[: tar.size].sum()
    return float((rank_sum - tar.size * (tar.size + 1) / 2) / (tar.size * non.size))


def threshold_at_false_alarm(scores: ScoreArray, labels: ScoreArray, target_fa: float) -> float:
    """Lowest threshold whose false-alarm rate does not exceed ``target_fa``.

    Compared in non-target trials, not as rates: 1 - 95/100 exceeds 0.05 in floating point,
    which would step one trial past an exact target."""
    curve = detection_curve(scores, labels)
    non = _split(scores, labels)[1].size
    allowed = np.floor(target_fa * non)
    ok = np.nonzero(np.rint(curve.false_alarm_rate * non) <= allowed)[0]
    return float(curve.thresholds[ok[0]])


def _average_ranks(values: np.ndarray) -> np.ndarray:
    order = np.argsort(values, kind="mergesort")
    ranks = np.empty(values.size, dtype=np.float64)
    sorted_values = values[order]
    i = 0
    while i < values.size:
        j = i
        while j + 1 < values.size and sorted_values[j + 1] == sorted_values[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def rates_at(
    scores: ScoreArray, labels: ScoreArray, thresholds: ScoreArray
) -> list[tuple[float, float, float]]:
    """(threshold, false-alarm rate, miss rate) at each given threshold, deciding "target"
    when score >= threshold: the operating points a deployment chooses between."""
    tar, non = _split(scores, labels)
    return [
        (float(t), float(np.mean(non >= t)), float(np.mean(tar < t)))
        for t in np.asarray(thresholds, dtype=np.float64).reshape(-1)
    ]
