from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

from voxguard.training.detector.channel_calibration import (
    held_out_check,
    hter,
    sample_clips,
)
from voxguard.training.detector.data import REALWORLD_PREFIX, Clip
from voxguard.training.detector.train import CHANNEL_BLOCKS, EXTRA_CALIBRATIONS


def test_sample_keeps_every_demo_clip_and_caps_each_source_and_class() -> None:
    clips = [Clip(Path(f"d/{i}.wav"), i % 2, "x", "demos:r") for i in range(5)]
    clips += [
        Clip(Path(f"{g}/{i:03d}.wav"), y, "x", f"{REALWORLD_PREFIX}{g}")
        for g in ("a", "b")
        for y in (0, 1)
        for i in range(10)
    ]
    clips.append(Clip(Path("v/0.wav"), 1, "x", "vocoded:demos:r"))
    kept = sample_clips(clips, per_class=3)
    assert sum(c.group.startswith("demos:") for c in kept) == 5
    assert not any(c.group.startswith("vocoded:") for c in kept)
    for g in ("a", "b"):
        for y in (0, 1):
            chosen = [c for c in kept if c.group == f"{REALWORLD_PREFIX}{g}" and c.label == y]
            assert [c.path.name for c in chosen] == ["000.wav", "001.wav", "002.wav"]


def test_hter_is_the_mean_of_false_alarms_and_misses() -> None:
    p = np.array([0.9, 0.1, 0.6, 0.4, 0.2, 0.8])
    y = np.array([0, 0, 0, 1, 1, 1])
    # genuine flagged 2 of 3, spoofs missed 2 of 3
    assert hter(p, y, 0.5) == pytest.approx((2 / 3 + 2 / 3) / 2)


def test_a_cross_fitted_block_beats_a_shifted_one_on_the_same_scores() -> None:
    rng = np.random.default_rng(0)
    n = 400
    labels = np.r_[np.zeros(n, int), np.ones(n, int)]
    scores = np.r_[rng.normal(-1, 1, n), rng.normal(1, 1, n)] + 3.0  # the channel shifts both
    folds = np.array([f"fold{k % 10}" for k in range(2 * n)])
    check = held_out_check(folds, scores, labels, current=(1.0, 0.0), threshold=0.5)
    assert check["genuine_flagged_current"] > 0.9  # the shift flags nearly every genuine clip
    assert check["hter_cross_fitted"] < check["hter_current"] - 0.2
    assert check["hter_cross_fitted"] == pytest.approx(0.16, abs=0.05)  # about Phi(-1)


def test_each_refittable_block_uses_the_recipes_channels_and_applies_field() -> None:
    # A refit must be fitted on the channels of the block it replaces, and keep the field
    # (and level) under which the detector applies it, as the recipe writes it.
    rng = np.random.default_rng(0)
    for block, (lines, (field, level)) in CHANNEL_BLOCKS.items():
        fit, conditions = EXTRA_CALIBRATIONS[block]
        assert tuple(lines) == tuple(conditions)
        by_cache = {
            line: {f"{line}/{i}": (i % 2, float(rng.normal(i % 2))) for i in range(20)}
            for line in lines
        }
        written = fit(by_cache, "scores")
        assert written[field] == level
