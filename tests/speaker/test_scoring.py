"""AS-norm and calibration on synthetic scores."""

from __future__ import annotations

import numpy as np
import pytest

from voxguard.speaker.calibration import LinearCalibration, fit_calibration
from voxguard.speaker.scoring import AsNorm, cosine, unit_rows


def test_asnorm_standardises_against_the_closest_cohort() -> None:
    rng = np.random.default_rng(0)
    cohort = unit_rows(rng.standard_normal((200, 16)).astype(np.float32))
    norm = AsNorm(cohort, top_k=20)
    a = unit_rows(rng.standard_normal((1, 16)).astype(np.float32))[0]
    stats = norm.stats(a)
    top = np.sort(cohort @ a)[-20:]
    assert stats.mean == pytest.approx(float(top.mean()), abs=1e-6)
    assert stats.std == pytest.approx(float(top.std()), abs=1e-6)
    # Symmetric: swapping the two sides gives the same normalised score.
    b = unit_rows(rng.standard_normal((1, 16)).astype(np.float32))[0]
    raw = cosine(a, b)
    assert norm.normalize(raw, a, b) == pytest.approx(norm.normalize(raw, b, a))
    means, _ = norm.stats_many(np.stack([a, b]))
    assert means[0] == pytest.approx(stats.mean, abs=1e-6)


def test_asnorm_makes_a_hub_speaker_less_dominant() -> None:
    # A "hub" embedding close to everything scores high raw against strangers; AS-norm
    # discounts it by its high cohort mean.
    rng = np.random.default_rng(1)
    centre = unit_rows(rng.standard_normal((1, 32)).astype(np.float32))[0]
    cohort = unit_rows(centre + 0.9 * rng.standard_normal((300, 32)).astype(np.float32))
    norm = AsNorm(cohort, top_k=50)
    hub = centre
    loner = unit_rows(rng.standard_normal((1, 32)).astype(np.float32))[0]
    stranger = unit_rows(centre + 0.9 * rng.standard_normal((1, 32)).astype(np.float32))[0]
    assert cosine(hub, stranger) > cosine(loner, stranger)
    assert norm.stats(hub).mean > norm.stats(loner).mean


def test_calibration_is_monotonic_and_probabilities_bounded() -> None:
    rng = np.random.default_rng(2)
    scores = np.r_[rng.normal(3.0, 1.0, 300), rng.normal(0.0, 1.0, 3000)]
    labels = np.r_[np.ones(300), np.zeros(3000)]
    calibration = fit_calibration(scores, labels)
    grid = np.linspace(-5, 8, 50)
    llrs = [calibration.llr(s) for s in grid]
    probs = [calibration.probability(x) for x in llrs]
    assert calibration.scale > 0
    assert all(np.diff(llrs) > 0) and all(np.diff(probs) >= 0)
    assert min(probs) >= 0.0 and max(probs) <= 1.0
    # Equal-variance Gaussians 3 apart: the true LLR at score s is 3 s - 4.5.
    assert calibration.llr(1.5) == pytest.approx(0.0, abs=0.4)
    # Thresholds rise as the false-accept rate falls.
    t_loose, t_strict = calibration.threshold_for_far(0.05), calibration.threshold_for_far(0.001)
    assert t_strict > t_loose
    again = LinearCalibration.from_dict(calibration.to_dict())
    assert again == calibration
