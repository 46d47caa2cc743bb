"""The read-out refit: with a fixed non-linear branch in the base graph, its weight is refitted
with the linear part and the branch's outputs count in every score."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from voxguard.training.readout.features import FeatureSet, Recording
from voxguard.training.readout.fit import evaluate, fit_readout
from voxguard.training.readout.graph import ReadOut


def _branch_set(files: int, seed: int) -> FeatureSet:
    """The label shows in the branch only (its outputs), never in the features; the base
    logits are those of a base that weighs the branch -1 (it scores everything backwards)."""
    rng = np.random.default_rng(seed)
    labels = np.arange(files) % 2
    owner = np.repeat(np.arange(files), 4)
    branch = 3.0 * (2 * labels[owner] - 1) + rng.normal(size=owner.size)
    return FeatureSet(
        features=rng.normal(size=(owner.size, 6)).astype(np.float32),
        base_logits=(-branch).astype(np.float32),
        branch=branch.astype(np.float32),
        window_file=owner,
        files=[Recording(f"f{i}", int(labels[i]), lambda: Path("x")) for i in range(files)],
        stats_dims=3,
    )


def test_the_branch_weight_is_refitted_and_used() -> None:
    data = _branch_set(40, 0)
    base = ReadOut(np.zeros(6), np.ones(6), np.zeros(6), 0.0, branch_scale=-1.0)
    fit = fit_readout(data, base)
    assert fit.readout.branch_scale > 0.0
    held = fit.metrics["held_out"]
    assert held["base_eer"] > 0.9 and held["eer"] < 0.1
    fresh = evaluate(fit.readout, _branch_set(12, 1))
    assert fresh["eer"] < 0.1 and fresh["base_eer"] > 0.9


def test_without_a_branch_the_refit_leaves_it_at_zero() -> None:
    data = _branch_set(40, 0)
    base = ReadOut(np.zeros(6), np.ones(6), np.zeros(6), 0.0)  # no branch in its graph
    fit = fit_readout(data, base)
    assert fit.readout.branch_scale == 0.0
    assert fit.metrics["held_out"]["eer"] > 0.2  # the features carry no label
