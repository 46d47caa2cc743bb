"""Read-out weighting: every source counts the same within its class."""

import numpy as np
import pytest

pytest.importorskip("torch")

from voxguard.training.detector.models import fit_stats, source_balanced_weights


def test_source_balanced_weights_give_each_source_the_same_share_of_its_class() -> None:
    groups = np.array(["big"] * 6 + ["small"] * 2 + ["real"] * 4)
    labels = np.array([1] * 8 + [0] * 4)
    w = source_balanced_weights(groups, labels)
    assert w[:6].sum() == pytest.approx(w[6:8].sum())  # big and small weigh the same
    assert w[labels == 1].sum() == pytest.approx(w[labels == 0].sum())  # so do the classes
    assert w.sum() == pytest.approx(labels.size)


def test_a_weighted_read_out_follows_the_weights_not_the_counts() -> None:
    rng = np.random.default_rng(0)
    # source "big" (900 spoof windows) sits at +1, source "small" (100) at -1 on feature 0;
    # genuine windows at 0. Counted, "big" decides; weighted, both matter alike.
    x = np.r_[rng.normal(1, 0.3, 900), rng.normal(-1, 0.3, 100), rng.normal(0, 0.3, 1000)]
    stats = np.c_[x, x**2]
    labels = np.r_[np.ones(1000), np.zeros(1000)].astype(int)
    groups = np.array(["big"] * 900 + ["small"] * 100 + ["real"] * 1000)
    counted = fit_stats(stats, labels)
    weighted = fit_stats(stats, labels, sample_weight=source_balanced_weights(groups, labels))
    small = stats[900:1000]
    assert weighted.logit(small).mean() > counted.logit(small).mean()
