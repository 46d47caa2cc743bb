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
from voxguard.training.detector.models import PhaseEnsemble


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
