"""Read-outs: source weighting, and the non-linear read-out of both views."""

import numpy as np
import pytest

pytest.importorskip("torch")

from voxguard.audio.types import FloatArray
from voxguard.training.detector.models import (
    FusionEnsemble,
    Projection,
    family_balanced_weights,
    fit_fusion,
    fit_stats,
    fit_views_mlp,
    fit_views_mlps,
    fold_projected_mlp,
    merge_views_mlps,
    nap_projection,
    source_balanced_weights,
    views_scale,
    with_phase_head,
)


def test_source_balanced_weights_give_each_source_the_same_share_of_its_class() -> None:
    groups = np.array(["big"] * 6 + ["small"] * 2 + ["real"] * 4)
    labels = np.array([1] * 8 + [0] * 4)
    w = source_balanced_weights(groups, labels)
    assert w[:6].sum() == pytest.approx(w[6:8].sum())  # big and small weigh the same
    assert w[labels == 1].sum() == pytest.approx(w[labels == 0].sum())  # so do the classes
    assert w.sum() == pytest.approx(labels.size)


def test_family_balanced_weights_give_each_family_then_each_source_the_same_share() -> None:
    # Spoofs: vocoder from one source (2 windows); codec from two sources (6 + 2 windows).
    groups = np.array(["a", "a", "b"] + ["b"] * 5 + ["c", "c"] + ["a", "a", "d", "d", "d", "d"])
    families = np.array(["vocoder"] * 2 + ["codec"] * 8 + [""] * 6)
    labels = np.array([1] * 10 + [0] * 6)
    w = family_balanced_weights(groups, families, labels)
    vocoder, codec = w[:2].sum(), w[2:10].sum()
    assert vocoder == pytest.approx(codec)  # one family, one share, whatever its size
    assert w[2:8].sum() == pytest.approx(w[8:10].sum())  # within codec, sources b and c alike
    assert w[:2] == pytest.approx(np.full(2, w[0]))
    # Genuine windows keep their source balance; the classes weigh the same.
    genuine = labels == 0
    assert w[genuine] == pytest.approx(source_balanced_weights(groups, labels)[genuine])
    assert w[labels == 1].sum() == pytest.approx(w[genuine].sum())
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


def _xor_views(n: int, seed: int) -> tuple[FloatArray, FloatArray, np.ndarray]:
    """Spoof when the signs of stats[:, 0] and encoded[:, 0] differ: no hyperplane separates it."""
    rng = np.random.default_rng(seed)
    stats, encoded = rng.normal(size=(n, 3)), rng.normal(size=(n, 2))
    labels = (np.sign(stats[:, 0]) != np.sign(encoded[:, 0])).astype(int)
    return stats, encoded, labels


def test_the_views_mlp_learns_what_the_linear_fusion_cannot() -> None:
    stats, encoded, labels = _xor_views(2000, seed=0)
    weights = np.ones(labels.size)
    mlp = fit_views_mlp(stats, encoded, labels, weights, epochs=30, seed=0)
    linear = fit_fusion(stats, encoded, labels, sample_weight=weights)
    test_stats, test_encoded, test_labels = _xor_views(1000, seed=1)

    def accuracy(logits: np.ndarray) -> float:
        return float(np.mean((logits > 0) == (test_labels == 1)))

    assert accuracy(mlp.logit(test_stats, test_encoded)) > 0.9
    assert accuracy(linear.logit(test_stats, test_encoded)) < 0.65


def test_the_ensemble_is_the_weighted_sum_of_its_two_read_outs() -> None:
    stats, encoded, labels = _xor_views(500, seed=2)
    weights = np.ones(labels.size)
    linear = fit_fusion(stats, encoded, labels, sample_weight=weights)
    mlp = fit_views_mlp(stats, encoded, labels, weights, epochs=2, seed=0)
    both = FusionEnsemble(linear, mlp, 0.5, 2.0)
    expected = 0.5 * linear.logit(stats, encoded) + 2.0 * mlp.logit(stats, encoded)
    np.testing.assert_allclose(both.logit(stats, encoded), expected, rtol=1e-5, atol=1e-5)


def test_merged_views_mlps_give_the_mean_of_their_members_logits() -> None:
    stats, encoded, labels = _xor_views(400, seed=3)
    weights = np.ones(labels.size)
    scale = views_scale(np.hstack([stats, encoded]))
    members = [
        fit_views_mlp(stats, encoded, labels, weights, epochs=2, seed=s, scale=scale)
        for s in (0, 1, 2)
    ]
    merged = merge_views_mlps(members)
    assert merged.net[1].out_features == 3 * members[0].net[1].out_features
    expected = np.mean([m.logit(stats, encoded) for m in members], axis=0)
    np.testing.assert_allclose(merged.logit(stats, encoded), expected, rtol=1e-5, atol=1e-5)
    # The first member is the single network the bundled recipe fits with that seed.
    pair = fit_views_mlps(stats, encoded, labels, weights, count=2, seed=4)
    single = fit_views_mlp(stats, encoded, labels, weights, seed=4)
    second = fit_views_mlp(stats, encoded, labels, weights, seed=1004, scale=scale)
    np.testing.assert_allclose(
        pair.logit(stats, encoded),
        (single.logit(stats, encoded) + second.logit(stats, encoded)) / 2,
        rtol=1e-5,
        atol=1e-5,
    )


def test_views_mlps_with_different_standardisations_are_not_merged() -> None:
    stats, encoded, labels = _xor_views(200, seed=4)
    weights = np.ones(labels.size)
    a = fit_views_mlp(stats, encoded, labels, weights, epochs=1, seed=0)
    b = fit_views_mlp(stats[:100], encoded[:100], labels[:100], weights[:100], epochs=1, seed=0)
    with pytest.raises(ValueError, match="different standardisations"):
        merge_views_mlps([a, b])


def test_the_phase_head_adds_a_third_view_at_the_linear_fusions_scale() -> None:
    stats, encoded, labels = _xor_views(600, seed=3)
    rng = np.random.default_rng(4)
    # The phase view alone separates the classes (the XOR defeats the linear fusion).
    phase = np.c_[labels + rng.normal(0, 0.3, labels.size), rng.normal(size=labels.size)]
    weights = np.ones(labels.size)
    linear = fit_fusion(stats, encoded, labels, sample_weight=weights)
    mlp = fit_views_mlp(stats, encoded, labels, weights, epochs=1, seed=0)
    ensemble = FusionEnsemble(linear, mlp, 0.5, 0.0)
    both = with_phase_head(ensemble, phase, labels, weights)
    head = both.phase_head.logit(phase)
    # The head, divided by its own spread, weighs what the ensemble's linear part weighs.
    assert both.phase_weight * head.std() == pytest.approx(0.5, rel=1e-3)
    np.testing.assert_allclose(
        both.logit(stats, encoded, phase),
        ensemble.logit(stats, encoded) + both.phase_weight * head,
        rtol=1e-5,
        atol=1e-5,
    )

    def accuracy(logits: np.ndarray) -> float:
        return float(np.mean((logits > 0) == (labels == 1)))

    assert accuracy(both.logit(stats, encoded, phase)) > accuracy(ensemble.logit(stats, encoded))


def test_nap_removes_the_direction_the_sources_differ_along() -> None:
    rng = np.random.default_rng(3)
    sources = np.repeat(np.arange(6), 50)
    z = rng.normal(size=(300, 4))
    z[:, 2] += sources * 3.0  # the nuisance: a per-source offset along one axis
    q = nap_projection(z, sources.astype(str), np.zeros(300, dtype=int), k=1)
    np.testing.assert_allclose(np.abs(q[2, 2]), 0.0, atol=0.05)
    projected = z @ q
    spread = np.ptp(np.asarray([projected[sources == s].mean(axis=0) for s in range(6)]), axis=0)
    assert spread[2] < 0.1  # was 15
    # Cells left out ("") and classes with a single cell leave the features unchanged.
    np.testing.assert_array_equal(
        nap_projection(z, np.full(300, ""), np.zeros(300, dtype=int), k=2), np.eye(4)
    )


def test_a_read_out_fitted_on_projected_views_folds_back_to_raw_features_exactly() -> None:
    rng = np.random.default_rng(4)
    stats, encoded = rng.normal(2.0, 3.0, size=(400, 5)), rng.normal(-1.0, 0.5, size=(400, 3))
    labels = (stats[:, 0] + encoded[:, 1] > 1.0).astype(int)
    sources = (np.arange(400) % 5).astype(str)
    projections, projected = [], []
    for x in (stats, encoded):
        mean, std = x.mean(axis=0), x.std(axis=0) + 1e-3
        projections.append(
            Projection(mean, std, nap_projection((x - mean) / std, sources, labels, 2))
        )
        projected.append(projections[-1].project(x))
    weights = np.ones(labels.size)
    linear = fit_fusion(projected[0], projected[1], labels, sample_weight=weights)
    mlp = fit_views_mlp(projected[0], projected[1], labels, weights, epochs=2, seed=0)
    head = projections[0].fold_linear(linear.stats_head)
    np.testing.assert_allclose(
        head.logit(stats), linear.stats_head.logit(projected[0]), rtol=1e-4, atol=1e-4
    )
    folded = fold_projected_mlp(mlp, projections)
    np.testing.assert_allclose(
        folded.logit(stats, encoded), mlp.logit(*projected), rtol=1e-4, atol=1e-4
    )
