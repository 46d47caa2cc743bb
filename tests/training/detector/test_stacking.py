import numpy as np

from voxguard.training.detector.stacking import Scorer, fused_scores, metrics


def _linear_view(x: np.ndarray, y: np.ndarray):  # type: ignore[no-untyped-def]
    """A least-squares view: enough to carry an informative feature."""

    def fit(train: np.ndarray) -> Scorer:
        w, *_ = np.linalg.lstsq(np.c_[x[train], np.ones(train.sum())], y[train] - 0.5, rcond=None)
        return lambda mask: np.c_[x[mask], np.ones(mask.sum())] @ w

    return fit


def test_fusion_keeps_the_base_score_of_clips_without_the_band_and_uses_an_informative_view() -> (
    None
):
    rng = np.random.default_rng(1)
    groups = np.repeat([f"realworld:page{i}" for i in range(30)], 20)
    y = np.tile(np.r_[np.zeros(10), np.ones(10)], 30).astype(int)
    base = rng.normal(size=y.size) + 0.3 * y
    x = rng.normal(size=(y.size, 3))
    x[:, 0] += 2.0 * y
    present = np.arange(y.size) % 20 < 16
    view, fused, weights = fused_scores(_linear_view(x, y), present, y, groups, base)
    assert np.array_equal(fused[~present], base[~present])
    assert np.isnan(view[~present]).all()
    assert not np.isnan(view[present]).any()
    assert all(w > 0 for w in weights)

    def separation(s: np.ndarray) -> float:
        return float(s[present & (y == 1)].mean() - s[present & (y == 0)].mean())

    assert separation(fused) > separation(base) + 1.0


def test_metrics_reads_sources_systems_and_the_vocoder_family() -> None:
    y = np.array([0, 0, 1, 1, 1, 1])
    scores = np.array([0.0, 1.0, 2.0, 3.0, -1.0, 0.5])
    groups = np.array(
        ["realworld:a", "realworld:b", "realworld:a", "realworld:a", "realworld:b", "realworld:b"]
    )
    systems = np.array(["human", "human", "vocoder/x", "vocoder/x", "codec/y", "codec/y"])
    m = metrics(scores, y, groups, systems)
    assert m["vocoder_systems"] == 0.0  # both copies score above every genuine clip
    assert m["per_family_systems"]["codec"] > 0.0  # type: ignore[index]
    assert set(m["per_system"]) == {"vocoder/x", "codec/y"}  # type: ignore[arg-type]


def test_a_gated_view_only_raises_scores_and_leaves_most_genuine_clips_alone() -> None:
    rng = np.random.default_rng(3)
    groups = np.repeat([f"realworld:page{i}" for i in range(30)], 20)
    y = np.tile(np.r_[np.zeros(10), np.ones(10)], 30).astype(int)
    base = rng.normal(size=y.size)
    x = rng.normal(size=(y.size, 2))
    x[:, 0] += 2.0 * y
    everyone = np.ones(y.size, dtype=bool)
    _, fused, _ = fused_scores(_linear_view(x, y), everyone, y, groups, base, gate_quantile=0.95)
    assert (fused >= base).all()
    raised = fused > base
    assert raised[y == 0].mean() < 0.15
    assert raised[y == 1].mean() > 0.3
