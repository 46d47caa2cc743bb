"""Training the learned speaker count: features from the clustering's own affinity, a fit
whose exported coefficients count synthetic speakers the eigengap cannot, and the choice of
the regularisation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from voxguard.diarization.clustering import ClusteringParams, cluster_embeddings
from voxguard.diarization.count import COUNT_FEATURES, SpeakerCountModel
from voxguard.training.overlap import cached_windows
from voxguard.training.speaker_count import (
    Conversation,
    _pipeline,
    choose_c,
    confusion,
    features,
    write_model,
)


def _voices(k: int, seed: int) -> np.ndarray:
    """Windows of two talkers and ``k - 2`` rarely heard speakers whose voices are close to a
    talker's: the largest eigengaps fall between the talkers, so the eigengap often undercounts
    (as with close voices on a phone line)."""
    rng = np.random.default_rng(seed)
    talkers = rng.normal(size=(2, 256))
    centres = np.concatenate([talkers, talkers[: k - 2] + 0.5 * rng.normal(size=(k - 2, 256))])
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    sizes = np.r_[rng.integers(80, 120, 2), rng.integers(20, 35, k - 2)]
    labels = np.repeat(np.arange(k), sizes)
    x = centres[labels] + 0.25 * rng.normal(size=(labels.size, 256)) / np.sqrt(256)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def _set(seeds: range) -> list[Conversation]:
    return [
        Conversation(f"clean/conv{seed}-{k}", _voices(k, seed), k)
        for seed in seeds
        for k in (2, 3, 4)
    ]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    training = _set(range(20))
    x = features(training, ClusteringParams())
    model = _pipeline(1.0).fit(x, [c.speakers for c in training])
    out = tmp_path_factory.mktemp("speaker_count")
    write_model(out, model, {"metrics": {}})
    return out


def test_features_are_the_clusterings_own(model_dir: Path) -> None:
    x = features(_set(range(2)), ClusteringParams())
    assert x.shape == (6, len(COUNT_FEATURES))
    shares = x[:, : COUNT_FEATURES.index("log_max_gap")]
    assert np.all(shares <= 1.0 + 1e-9) and np.allclose(shares.max(axis=1), 1.0)


def test_the_exported_model_counts_held_out_speakers_the_eigengap_misses(model_dir: Path) -> None:
    held_out = _set(range(100, 110))
    learned = ClusteringParams(speaker_count="learned", count_model=str(model_dir))
    eigengap = ClusteringParams(speaker_count="eigengap")
    truth = [c.speakers for c in held_out]

    def found(params: ClusteringParams) -> list[int]:
        return [int(cluster_embeddings(c.embeddings, params=params).max()) + 1 for c in held_out]

    by_model, by_gap = confusion(truth, found(learned)), confusion(truth, found(eigengap))
    assert by_model["accuracy"] >= 0.9
    assert by_gap["accuracy"] < 0.8  # the close, rare voices fool the eigengap
    model = SpeakerCountModel.from_files(model_dir)
    assert model.classes == (2, 3, 4)


def test_the_smallest_c_within_the_tie_is_chosen() -> None:
    assert choose_c({0.01: 0.70, 0.1: 0.795, 1.0: 0.80, 10.0: 0.80}) == 0.1
    assert choose_c({0.01: 0.50, 0.1: 0.60, 1.0: 0.80}) == 1.0


def test_the_confusion_matrix_counts_conversations() -> None:
    report = confusion([2, 2, 4, 4], [2, 3, 3, 4])
    assert report["accuracy"] == 0.5
    assert report["confusion"] == {
        "true 2": {"found 2": 1, "found 3": 1},
        "true 4": {"found 3": 1, "found 4": 1},
    }


def test_cached_embeddings_of_other_audio_are_not_used(tmp_path: Path) -> None:
    stored = tmp_path / "conv000.npz"
    embeddings, starts = np.ones((3, 4), np.float32), np.array([0, 25, 50])
    np.savez(stored, embeddings=embeddings, starts=starts, hop_s=0.01, audio_sha256="a" * 64)
    cached = cached_windows(stored, "a" * 64)
    assert cached is not None and np.array_equal(cached[0], embeddings)
    assert np.array_equal(cached[1], starts) and cached[2] == 0.01
    assert cached_windows(stored, "b" * 64) is None  # the set was rebuilt: embed it again
    assert cached_windows(tmp_path / "absent.npz", "a" * 64) is None
    older = tmp_path / "conv001.npz"  # a cache written before the window starts were kept
    np.savez(older, embeddings=embeddings, audio_sha256=np.array("a" * 64))
    assert cached_windows(older, "a" * 64) is None
