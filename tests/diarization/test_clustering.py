from __future__ import annotations

import numpy as np
import pytest

from voxguard.diarization.clustering import cluster_embeddings


def _speakers(
    k: int, per: int = 60, spread: float = 0.35, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Windows of ``k`` speakers: noisy copies of one random unit vector per speaker."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, 256))
    labels = np.repeat(np.arange(k), per)
    x = centres[labels] / np.linalg.norm(centres[labels], axis=1, keepdims=True)
    x = x + spread * rng.normal(size=x.shape) / np.sqrt(256)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32), labels


def _agree(a: np.ndarray, b: np.ndarray) -> bool:
    """The same partition, whatever the label names."""
    pairs = {(int(x), int(y)) for x, y in zip(a, b, strict=True)}
    return len(pairs) == len({x for x, _ in pairs}) == len({y for _, y in pairs})


@pytest.mark.parametrize("k", [1, 2, 3, 4, 6])
def test_the_number_of_speakers_is_found(k: int) -> None:
    x, truth = _speakers(k)
    labels = cluster_embeddings(x)
    assert int(labels.max()) + 1 == k
    assert _agree(labels, truth)


def test_a_given_number_of_speakers_is_used() -> None:
    x, _truth = _speakers(3)
    assert int(cluster_embeddings(x, num_speakers=3).max()) + 1 == 3
    assert int(cluster_embeddings(x, num_speakers=1).max()) == 0


def test_labels_follow_first_appearance_and_tiny_inputs_are_one_speaker() -> None:
    x, _ = _speakers(2)
    order = np.r_[np.arange(60, 120), np.arange(0, 60)]
    labels = cluster_embeddings(x[order])
    assert labels[0] == 0 and labels[-1] == 1
    assert cluster_embeddings(x[:2]).tolist() == [0, 0]
    assert cluster_embeddings(np.zeros((0, 256), np.float32)).size == 0
