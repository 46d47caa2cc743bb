"""Back ends by name: the phase ensemble is fitted and scored from the cache's views; the
spoof family each clip's weight is balanced over."""

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

from tests.training.detector.caches import one_window_cache
from voxguard.spoof.features import FeatureParams
from voxguard.training.detector.approaches import fit_approach, spoof_family, window_logits
from voxguard.training.detector.data import DERIVED_PREFIX, REALWORLD_PREFIX, Clip
from voxguard.training.detector.export import export
from voxguard.training.detector.models import FusionEnsemble, PhaseEnsemble


def test_the_phase_ensemble_is_fitted_on_all_three_views_and_is_not_exported(
    tmp_path: Path,
) -> None:
    rng = np.random.default_rng(0)
    labels = np.arange(80) % 2
    clips = [Clip(Path(f"{i}.wav"), int(y), "s", f"src{i % 4}") for i, y in enumerate(labels)]
    cache = one_window_cache(clips, stats=rng.normal(size=(80, 3)).astype(np.float32))
    cache.encoded = rng.normal(size=(80, 4)).astype(np.float32)
    # Only the phase view carries the label.
    cache.phase = (labels[:, None] * 2.0 + rng.normal(0, 0.5, (80, 2))).astype(np.float32)
    windows = np.arange(80)
    model = fit_approach("phase_ensemble", cache, windows)
    assert isinstance(model, PhaseEnsemble)
    without = fit_approach("fusion_ensemble", cache, windows)

    def accuracy(logits: np.ndarray) -> float:
        return float(np.mean((logits > 0) == (labels == 1)))

    assert accuracy(window_logits(model, cache, windows)) > accuracy(
        window_logits(without, cache, windows)
    )
    cache.phase = None
    with pytest.raises(ValueError, match="with_phase_features"):
        window_logits(model, cache, windows)
    with pytest.raises(ValueError, match="no ONNX export"):
        export(model, FeatureParams(), tmp_path, {}, 0.5, {})


def test_each_spoof_clip_has_the_family_its_weight_is_balanced_over() -> None:
    def clip(label: int, system: str, group: str) -> Clip:
        return Clip(Path("x.wav"), label, system, group)

    assert spoof_family(clip(1, "vocoder/bigvgan", f"{REALWORLD_PREFIX}periodwave/demo")) == (
        "vocoder"
    )
    assert spoof_family(clip(1, "hifigan-universal", f"{DERIVED_PREFIX}demos:x/y")) == "vocoder"
    assert spoof_family(clip(1, "maskgct", "demos:maskgct/maskgct.github.io")) == "demos"
    assert spoof_family(clip(0, "human", f"{REALWORLD_PREFIX}periodwave/demo")) == ""


def test_the_nap_read_outs_ignore_a_cue_that_only_tells_sources_apart() -> None:
    rng = np.random.default_rng(5)
    n = 2400
    sources = np.arange(n) % 12
    # Sources 0-8 hold both classes, sources 9-11 only spoofs. Each source has its own
    # recording conditions (an offset on axis 1); the spoof-only sources' are high, so that
    # axis looks like a spoof cue even with source-balanced weights.
    labels = np.where(sources >= 9, 1, (np.arange(n) // 12) % 2)
    offsets = np.array([-6.0, -4.5, -3.0, -1.5, 0.0, 1.5, 3.0, 4.5, 6.0, 4.0, 5.0, 6.0])
    clips = [
        Clip(Path(f"{i}.wav"), int(y), "s", f"src{s}")
        for i, (y, s) in enumerate(zip(labels, sources, strict=True))
    ]
    # Twelve sources span at most 8 (genuine cells) or 19 (source x class) of 40 dimensions.
    stats = rng.normal(size=(n, 40))
    stats[:, 0] += labels * 1.0  # the cue that generalises
    stats[:, 1] += offsets[sources]
    cache = one_window_cache(clips, stats=stats.astype(np.float32))
    cache.encoded = rng.normal(size=(n, 30)).astype(np.float32)
    windows = np.arange(n)

    def source_share(approach: str) -> float:
        model = fit_approach(approach, cache, windows)
        assert isinstance(model, FusionEnsemble)
        weights = model.linear.stats_head.weights
        logits = window_logits(model, cache, windows)
        assert np.mean((logits > 0) == (labels == 1)) > 0.65
        return float(abs(weights[1]) / abs(weights[0]))

    assert source_share("fusion_ensemble") > 0.2
    assert source_share("nap_genuine") < 0.05
    assert source_share("nap_cells") < 0.05
