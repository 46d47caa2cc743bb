from __future__ import annotations

import numpy as np
import pytest

from voxguard.evaluation.metrics import cllr, eer, min_dcf, roc_auc, threshold_at_false_alarm


def test_perfect_separation() -> None:
    scores = [0.9, 0.8, 0.1, 0.2]
    labels = [1, 1, 0, 0]
    assert eer(scores, labels) == pytest.approx(0.0)
    assert roc_auc(scores, labels) == pytest.approx(1.0)
    assert min_dcf(scores, labels) == pytest.approx(0.0)


def test_gaussian_eer_matches_theory() -> None:
    rng = np.random.default_rng(0)
    tar = rng.normal(1.0, 1.0, 200_000)
    non = rng.normal(-1.0, 1.0, 200_000)
    scores = np.r_[tar, non]
    labels = np.r_[np.ones(tar.size), np.zeros(non.size)]
    # Two unit Gaussians 2 apart cross at 0: EER = Phi(-1) = 0.1587.
    assert eer(scores, labels) == pytest.approx(0.1587, abs=0.003)
    assert roc_auc(scores, labels) == pytest.approx(0.9214, abs=0.003)


def test_chance_and_inverted() -> None:
    labels = [1, 0, 1, 0]
    assert eer([0.5, 0.5, 0.5, 0.5], labels) == pytest.approx(0.5)
    assert roc_auc([0.0, 1.0, 0.0, 1.0], labels) == pytest.approx(0.0)


def test_cllr_reference_values() -> None:
    labels = np.r_[np.ones(10), np.zeros(10)]
    assert cllr(np.zeros(20), labels) == pytest.approx(1.0)
    confident = np.r_[np.full(10, 50.0), np.full(10, -50.0)]
    assert cllr(confident, labels) == pytest.approx(0.0, abs=1e-9)
    # Confidently wrong is worse than uninformative.
    assert cllr(np.r_[np.full(10, -5.0), np.full(10, 5.0)], labels) > 5


def test_threshold_at_false_alarm() -> None:
    non = np.linspace(0, 1, 101)
    scores = np.r_[non, [2.0]]
    labels = np.r_[np.zeros(101), [1]]
    t = threshold_at_false_alarm(scores, labels, 0.05)
    assert np.mean(non >= t) <= 0.05
    assert np.mean(non >= t) > 0.03


def test_rejects_one_class() -> None:
    with pytest.raises(ValueError):
        eer([0.1, 0.2], [1, 1])


def test_rates_at_given_thresholds() -> None:
    from voxguard.evaluation.metrics import rates_at

    scores = [0.1, 0.4, 0.6, 0.9, 0.2, 0.7]
    labels = [0, 0, 0, 0, 1, 1]
    assert rates_at(scores, labels, [0.5, 0.8]) == [(0.5, 0.5, 0.5), (0.8, 0.25, 1.0)]


def test_threshold_at_false_alarm_keeps_a_rate_exactly_at_the_target() -> None:
    non = np.arange(100, dtype=float)  # 5 of 100 above the threshold is exactly 5%
    scores = np.r_[non, [200.0]]
    labels = np.r_[np.zeros(100), [1]]
    t = threshold_at_false_alarm(scores, labels, 0.05)
    assert np.mean(non >= t) == 0.05
