"""VBx resegmentation: the HMM's forward-backward, a split voice merged, noisy labels mended,
and the PLDA files checked against their sidecar."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from voxguard.diarization.vbx import (
    ARRAYS,
    FORMAT,
    NAME,
    Plda,
    VbxParams,
    forward_backward,
    load_plda,
    resegment,
)
from voxguard.errors import ModelMismatch

DIM = 16
PHI = np.linspace(5.0, 0.5, DIM)


def _talk(seed: int, order: list[int], windows: int = 60) -> tuple[np.ndarray, np.ndarray]:
    """Windows of three voices in a PLDA space (within-speaker covariance I), in turns."""
    rng = np.random.default_rng(seed)
    means = rng.normal(size=(3, DIM)) * np.sqrt(PHI)
    truth = np.repeat(order, windows)
    return means[truth] + rng.normal(size=(truth.size, DIM)), truth


def write_plda(folder: Path, plda: Plda, **sidecar: object) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    raw = plda.to_bytes()
    (folder / ARRAYS).write_bytes(raw)
    body = {"format": FORMAT, "arrays_sha256": hashlib.sha256(raw).hexdigest(), **sidecar}
    (folder / f"{NAME}.json").write_text(json.dumps(body))
    return folder


def test_forward_backward_matches_brute_force_on_a_tiny_hmm() -> None:
    rng = np.random.default_rng(1)
    log_p = np.log(rng.random((4, 2)))
    tr = np.array([[0.9, 0.1], [0.3, 0.7]])
    init = np.array([0.6, 0.4])
    posterior, total, _, _ = forward_backward(log_p, tr, init)
    paths = np.array(np.meshgrid(*[[0, 1]] * 4, indexing="ij")).reshape(4, -1).T
    weights = np.array(
        [
            init[p[0]]
            * np.prod([tr[p[t - 1], p[t]] for t in range(1, 4)])
            * np.exp(log_p[np.arange(4), p]).prod()
            for p in paths
        ]
    )
    assert total == pytest.approx(np.log(weights.sum()))
    for t in range(4):
        expected = np.bincount(paths[:, t], weights=weights, minlength=2) / weights.sum()
        np.testing.assert_allclose(posterior[t], expected, atol=1e-10)


def test_a_voice_split_in_two_is_merged_and_noisy_labels_mended() -> None:
    x, truth = _talk(0, [0, 1, 0, 2, 1, 2, 0])
    labels = truth.copy()
    first = np.flatnonzero(truth == 0)
    labels[first[first.size // 2 :]] = 3  # voice 0 split in two
    rng = np.random.default_rng(2)
    noisy = rng.random(truth.size) < 0.1
    labels[noisy] = rng.integers(0, 4, int(noisy.sum()))
    found = resegment(x, labels, Plda(np.eye(DIM), PHI), VbxParams())
    assert np.unique(found).size == 3
    mapping = {int(t): int(np.bincount(found[truth == t]).argmax()) for t in range(3)}
    assert len(set(mapping.values())) == 3
    assert (found == np.vectorize(mapping.get)(truth)).mean() > 0.98


def test_two_voices_are_kept_apart() -> None:
    x, truth = _talk(3, [0, 1, 0, 1])
    found = resegment(x, truth, Plda(np.eye(DIM), PHI), VbxParams())
    np.testing.assert_array_equal(found, truth)  # relabelled in order of first appearance


def test_projection_centres_each_recording_and_keeps_the_leading_directions() -> None:
    transform = np.random.default_rng(4).normal(size=(8, 5))
    plda = Plda(transform, np.array([4.0, 3.0, 2.0, 1.0, 0.5]))
    x = np.random.default_rng(5).normal(size=(30, 8))
    np.testing.assert_allclose(plda.project(x + 3.0, 2), plda.project(x, 2))
    assert plda.project(x, 2).shape == (30, 2)
    # Uncentred (Round 16b), the windows are projected as they are.
    np.testing.assert_allclose(plda.project(x + 3.0, 2, centre=False), (x + 3.0) @ transform[:, :2])


def test_files_round_trip_and_a_changed_file_is_refused(tmp_path: Path) -> None:
    plda = Plda(np.eye(4)[:, :3], np.array([3.0, 2.0, 1.0]))
    folder = write_plda(tmp_path / "ok", plda, model_version="test")
    loaded = Plda.from_files(folder)
    np.testing.assert_array_equal(loaded.transform, plda.transform)
    assert loaded.model_version == "test"
    (folder / ARRAYS).write_bytes(Plda(np.eye(4)[:, :3], np.ones(3) * 2).to_bytes())
    with pytest.raises(ModelMismatch):
        Plda.from_files(folder)
    bad = write_plda(tmp_path / "bad", Plda(np.eye(4)[:, :2], np.array([1.0, -1.0])))
    with pytest.raises(ModelMismatch):
        Plda.from_files(bad)


def test_a_missing_plda_means_no_resegmentation(tmp_path: Path) -> None:
    assert load_plda(str(tmp_path / "nowhere")) is None
