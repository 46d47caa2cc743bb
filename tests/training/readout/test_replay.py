"""The replay sample: saved as float16 features, loaded back, used for training only."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from voxguard.training.readout.features import FeatureSet, Recording
from voxguard.training.readout.fit import fit_readout
from voxguard.training.readout.graph import ReadOut
from voxguard.training.readout.replay import load_replay, merge, save_replay


def _set(files: int, windows_per_file: int, dims: int, seed: int, prefix: str) -> FeatureSet:
    rng = np.random.default_rng(seed)
    labels = np.arange(files) % 2
    owner = np.repeat(np.arange(files), windows_per_file)
    features = rng.normal(size=(owner.size, dims)) + 1.5 * labels[owner][:, None]
    return FeatureSet(
        features=features.astype(np.float32),
        base_logits=rng.normal(size=owner.size).astype(np.float32),
        branch=rng.normal(size=owner.size).astype(np.float32),
        window_file=owner,
        files=[Recording(f"{prefix}{i}", int(labels[i]), lambda: Path("x")) for i in range(files)],
        stats_dims=dims // 2,
    )


def test_save_and_load_keep_the_windows(tmp_path: Path) -> None:
    data = _set(6, 3, 8, 0, "demo")
    save_replay(data, tmp_path / "replay.npz", "six clips")
    loaded = load_replay(tmp_path / "replay.npz")
    assert loaded is not None
    replay, source = loaded
    assert source == "six clips" and [r.key for r in replay.files] == [r.key for r in data.files]
    np.testing.assert_allclose(replay.features, data.features, rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(replay.branch, data.branch, rtol=1e-3, atol=1e-3)
    assert replay.window_file.tolist() == data.window_file.tolist()
    with pytest.raises(RuntimeError, match="no audio"):
        replay.files[0].source()
    assert load_replay(tmp_path / "missing.npz") is None


def test_a_replay_file_without_branch_outputs_loads_zeros(tmp_path: Path) -> None:
    save_replay(_set(4, 2, 8, 0, "demo"), tmp_path / "replay.npz", "four clips")
    with np.load(tmp_path / "replay.npz") as saved:
        np.savez(tmp_path / "old.npz", **{k: saved[k] for k in saved.files if k != "branch"})
    loaded = load_replay(tmp_path / "old.npz")
    assert loaded is not None
    assert loaded[0].branch.shape == (8,) and not loaded[0].branch.any()


def test_merge_shifts_the_replay_files() -> None:
    merged = merge(_set(4, 2, 8, 0, "new"), _set(3, 2, 8, 1, "old"))
    assert len(merged.files) == 7 and merged.window_file.max() == 6
    assert merged.files[4].key == "old0" and merged.window_file[8] == 4
    assert merged.branch.size == merged.features.shape[0]


def test_replay_trains_but_is_never_held_out() -> None:
    data, replay = _set(24, 3, 8, 0, "new"), _set(20, 3, 8, 1, "old")
    base = ReadOut(mean=np.zeros(8), std=np.ones(8), weights=np.zeros(8), bias=0.0)
    fit = fit_readout(data, base, replay=replay)
    held = fit.metrics["held_out"]["keys"]
    assert held and all(key.startswith("new") for key in held)
    assert fit.metrics["train"]["replay_files"] == 20
    assert fit.metrics["train"]["files"] == 24 - len(held) + 20
