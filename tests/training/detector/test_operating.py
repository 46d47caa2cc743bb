import numpy as np
import pytest

from voxguard.training.detector.operating import operating_point, report_scores


def test_rates_at_the_threshold_and_at_the_target_false_alarm() -> None:
    genuine = np.arange(100, dtype=float)  # identity calibration below: p = sigmoid(score)
    spoof = np.arange(100, dtype=float) + 50.0
    scores = np.r_[genuine, spoof] - 100.0
    labels = np.r_[np.zeros(100, int), np.ones(100, int)]
    point = operating_point(scores, labels, 1.0, 0.0, 0.5, 0.05)
    # p >= 0.5 <=> score >= 0: no genuine clip (scores -100..-1), half the spoofs (-50..49).
    assert point["false_alarm"] == 0.0
    assert point["miss"] == 0.5
    # A flatter mapping keeps the probabilities distinct: the 5 highest genuine clips (of 100)
    # are the most the target allows, so the threshold sits just above the sixth highest.
    flat = operating_point(scores, labels, 0.05, 0.0, 0.5, 0.05)
    assert flat["false_alarm_at_target"] == pytest.approx(0.05)
    sixth = 1.0 / (1.0 + np.exp(-0.05 * (94.0 - 100.0)))
    assert flat["threshold_at_target"] == pytest.approx(sixth)
    assert flat["miss_at_target"] == pytest.approx(np.mean(spoof - 100.0 <= 94.0 - 100.0))


def test_operating_point_needs_both_classes() -> None:
    with pytest.raises(ValueError, match="genuine and spoof"):
        operating_point(np.zeros(3), np.zeros(3, int), 1.0, 0.0, 0.5, 0.05)


def test_report_scores_keeps_the_named_groups_and_folds_of_shared_clips() -> None:
    report = {"fusion": {"scores": {"a.wav": 1.0, "b.wav@fold1": 2.0, "c.wav": 3.0}}}
    clips = {"a.wav": ("realworld:x", 0), "b.wav": ("realworld:y", 1), "c.wav": ("demos:z", 1)}
    scores, labels = report_scores(report, "fusion", clips, "realworld:")
    assert scores.tolist() == [1.0, 2.0]
    assert labels.tolist() == [0, 1]
