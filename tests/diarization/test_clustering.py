from __future__ import annotations

import numpy as np
import pytest

from voxguard.diarization.clustering import (
    ClusteringParams,
    cluster_embeddings,
    merged_while_alike,
    without_clusters,
)


def _speakers(
    k: int, per: int = 60, spread: float = 0.35, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Windows of ``k`` speakers: noisy copies of one random unit vector per speaker."""
    rng = np.random.default_rng(seed)
    return _noisy_windows(rng.normal(size=(k, 256)), [per] * k, spread, rng)


def _noisy_windows(
    centres: np.ndarray, counts: list[int], spread: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``counts[i]`` unit-norm noisy copies of the normalised ``centres[i]``, and their labels."""
    centres = centres / np.linalg.norm(centres, axis=1, keepdims=True)
    labels = np.repeat(np.arange(len(counts)), counts)
    x = centres[labels] + spread * rng.normal(size=(labels.size, centres.shape[1])) / np.sqrt(256)
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


def _talkers_and_close_listeners(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two talkative speakers, each with a rarely heard speaker whose voice is close to theirs
    (centroid similarity about 0.9): at the default share the eigengap sees two groups."""
    rng = np.random.default_rng(seed)
    talkers = rng.normal(size=(2, 256))
    centres = np.stack(
        [
            talkers[0],
            talkers[0] + 0.5 * rng.normal(size=256),
            talkers[1],
            talkers[1] + 0.5 * rng.normal(size=256),
        ]
    )
    return _noisy_windows(centres, [100, 25, 100, 25], 0.25, rng)


def test_extra_clusters_let_the_merge_rule_keep_close_voices_apart() -> None:
    x, truth = _talkers_and_close_listeners()
    assert int(cluster_embeddings(x).max()) + 1 == 2  # the eigengap alone merges the close ones
    labels = cluster_embeddings(x, params=ClusteringParams(extra_clusters=2))
    assert int(labels.max()) + 1 == 4
    assert _agree(labels, truth)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_extra_clusters_are_merged_back_when_the_voices_are_one(k: int) -> None:
    x, truth = _speakers(k)
    labels = cluster_embeddings(x, params=ClusteringParams(extra_clusters=2))
    assert int(labels.max()) + 1 == k
    assert _agree(labels, truth)


def test_extra_clusters_do_not_apply_when_the_number_of_speakers_is_given() -> None:
    x, _ = _speakers(2)
    labels = cluster_embeddings(x, num_speakers=2, params=ClusteringParams(extra_clusters=3))
    assert int(labels.max()) + 1 == 2


def test_pruning_chosen_per_recording_keeps_close_voices_apart() -> None:
    # At the fixed share (0.15) the eigengap sees two groups; shares of 0.05-0.10 see four,
    # and the per-recording choice takes one of them.
    x, truth = _talkers_and_close_listeners()
    assert int(cluster_embeddings(x).max()) + 1 == 2
    labels = cluster_embeddings(x, params=ClusteringParams(auto_prune_max=0.3))
    assert int(labels.max()) + 1 == 4
    assert _agree(labels, truth)


def test_a_smaller_eigengap_share_counts_close_voices_apart() -> None:
    # Eigengaps here: 0.56 after two eigenvalues (two groups), 0.38 after four (the close
    # voices inside each group).
    x, truth = _talkers_and_close_listeners()
    assert int(cluster_embeddings(x, params=ClusteringParams(eigengap_share=0.7)).max()) == 1
    labels = cluster_embeddings(x, params=ClusteringParams(eigengap_share=0.5))
    assert int(labels.max()) + 1 == 4
    assert _agree(labels, truth)


@pytest.mark.parametrize("k", [1, 2, 3, 4, 6])
@pytest.mark.parametrize(
    "params",
    [
        ClusteringParams(auto_prune_max=0.3),
        ClusteringParams(eigengap_share=0.5),
        # Every count up to eight is tried, and the silhouette keeps the right one.
        ClusteringParams(silhouette_share=0.01),
    ],
    ids=["pruning chosen per recording", "smaller eigengap share", "silhouette"],
)
def test_each_count_option_still_finds_well_apart_speakers(
    params: ClusteringParams, k: int
) -> None:
    x, truth = _speakers(k)
    labels = cluster_embeddings(x, params=params)
    assert int(labels.max()) + 1 == k
    assert _agree(labels, truth)


def _talkers_and_a_rarely_heard_voice(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three talkers of 100 windows each and a fourth voice heard in only 10: each row of the
    affinity keeps more neighbours (15 %) than that voice has, so the eigengap after the fourth
    eigenvalue is about a quarter of the largest and the eigengap counts three."""
    rng = np.random.default_rng(seed)
    return _noisy_windows(rng.normal(size=(4, 256)), [100, 100, 100, 10], 0.5, rng)


def test_the_silhouette_finds_a_rarely_heard_voice_the_eigengap_misses() -> None:
    x, truth = _talkers_and_a_rarely_heard_voice()
    alone = ClusteringParams(silhouette_share=None)
    assert int(cluster_embeddings(x, params=alone).max()) + 1 == 3
    labels = cluster_embeddings(x, params=ClusteringParams(silhouette_share=0.2))
    assert int(labels.max()) + 1 == 4
    assert _agree(labels, truth)


def test_the_silhouette_only_tries_counts_down_to_its_eigengap_share() -> None:
    # Four is not tried when its eigengap is under half of the largest.
    x, _ = _talkers_and_a_rarely_heard_voice()
    labels = cluster_embeddings(x, params=ClusteringParams(silhouette_share=0.5))
    assert int(labels.max()) + 1 == 3


def test_the_silhouette_is_on_by_default_down_to_an_eigengap_share_of_0_4() -> None:
    # 0.4: Round 10, docs/diarization-experiments/2026-12-06-count-adds-and-removes.md (with
    # the diarizer's crowd guard). The rarely heard voice here opens a gap of about a quarter
    # of the largest, so it is not tried.
    assert ClusteringParams().silhouette_share == 0.4
    x, _ = _talkers_and_a_rarely_heard_voice()
    assert int(cluster_embeddings(x).max()) + 1 == 3


def test_the_silhouette_does_not_apply_when_the_number_of_speakers_is_given() -> None:
    x, _ = _talkers_and_a_rarely_heard_voice()
    labels = cluster_embeddings(x, num_speakers=3, params=ClusteringParams(silhouette_share=0.2))
    assert int(labels.max()) + 1 == 3


def test_a_dropped_clusters_windows_go_to_the_nearest_kept_one() -> None:
    x, _ = _speakers(3, per=20)
    # A fourth cluster, first heard, whose windows lie near speaker 2 (the third).
    near = x[40:50] + 0.3 * x[40:50].mean(axis=0)
    x = np.concatenate([near / np.linalg.norm(near, axis=1, keepdims=True), x])
    labels = np.concatenate([np.full(10, 0), np.repeat([1, 2, 3], 20)]).astype(np.int64)
    moved = without_clusters(x, labels, np.array([True, False, False, False]))
    # Relabelled in order of first appearance: the moved windows open the recording.
    assert moved.tolist() == [0] * 10 + [1] * 20 + [2] * 20 + [0] * 20
    # Flagging none, or every cluster, leaves the labels as they were.
    for drop in (np.zeros(4, bool), np.ones(4, bool)):
        assert without_clusters(x, labels, drop) is labels


def test_the_best_scored_pair_is_merged_while_it_scores_over_the_threshold() -> None:
    x, _ = _speakers(3, per=20)
    # Speaker 0's windows split into two clusters; the second half heard last.
    labels = np.concatenate([np.full(10, 0), np.full(20, 1), np.full(20, 2), np.full(10, 3)])
    x = np.concatenate([x[:10], x[20:60], x[10:20]])
    seen: list[int] = []

    def cosine(a: np.ndarray, b: np.ndarray, smaller: int) -> float:
        seen.append(smaller)
        return float(a @ b)

    merged = merged_while_alike(x, labels.astype(np.int64), cosine, 0.8)
    # The halves of speaker 0 are one; speakers 1 and 2 stay apart; first appearance order.
    assert merged.tolist() == [0] * 10 + [1] * 20 + [2] * 20 + [0] * 10
    assert min(seen) == 10  # the scorer is told how many windows the smaller cluster holds
    # Over every pair's score nothing is merged, and below every one all become one.
    assert merged_while_alike(x, labels.astype(np.int64), cosine, 1.01).tolist() == labels.tolist()
    assert set(merged_while_alike(x, labels.astype(np.int64), cosine, -1.0).tolist()) == {0}
