"""Clustering speaker embeddings with the number of speakers estimated.

Spectral clustering on the cosine affinity of window embeddings (the refinements of Wang et
al., "Speaker diarization with LSTM", ICASSP 2018: row-wise pruning, symmetrisation,
diffusion, row-max normalisation), the number of speakers from the eigengaps of the
normalised Laplacian (the largest gap by default; the largest k whose gap is at least a share
of it, ``eigengap_share``, counts close voices apart, which GE2E's windows needed), then
k-means on the embeddings seeded by the spectral labels, and a merge of clusters whose
centroids are closer than a same-speaker similarity. A single speaker cannot show an
eigengap; the merge is what finds it. With ``ClusteringParams.speaker_count="learned"`` a
small trained model (``count``) reads the eigengaps and a few other figures of the same
affinity instead, and the eigengap is its fallback when the model is missing. With the
speakers estimated, larger counts (down to an eigengap share of 0.4) are clustered too and
the silhouette picks among them (``ClusteringParams.silhouette_share``): it adds a rarely
heard voice; the diarizer's crowd guard (``DiarizationParams.crowd_threshold``) removes a
cluster of a crowd's windows (Round 10,
docs/diarization-experiments/2026-12-06-count-adds-and-removes.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.linalg import eigh
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score

from voxguard.audio.types import FloatArray
from voxguard.diarization.count import COUNT_GAPS, load_count_model

IntArray = npt.NDArray[np.int64]
# How alike two clusters are: (centroid, centroid, windows in the smaller cluster) -> score.
PairScore = Callable[[FloatArray, FloatArray, int], float]


@dataclass(frozen=True)
class ClusteringParams:
    max_speakers: int = 8
    # Keep this share of each row's strongest affinities (at least 10 neighbours).
    prune_share: float = 0.15
    # When set, the share is chosen per recording instead, among 0.05, 0.10, ... up to this:
    # the one with the lowest share / largest eigengap (Park et al., "Auto-tuning spectral
    # clustering for speaker diarization using normalized maximum eigengap", 2020).
    auto_prune_max: float | None = None
    # The number of speakers is the largest k whose eigengap is at least this share of the
    # largest one (1.0: the largest gap). Below 1, two close voices that open only a small
    # gap are still counted apart. 0.7: chosen on the development set for GE2E's windows
    # (Round 5c, docs/diarization-experiments/2026-12-05-eigengap-share.md); 1.0 for CAM++'s,
    # whose voices lie further apart (Round 19,
    # docs/diarization-experiments/2026-12-07-campplus-clustering.md).
    eigengap_share: float = 1.0
    # Clusters whose centroids are at least this cosine-similar are one speaker (GE2E).
    merge_similarity: float = 0.75
    # Or, when set: merge two clusters whose windows are less than this much closer (cosine)
    # to their own centroid than to the other's.
    merge_gap: float | None = 0.06
    # With the number of speakers estimated: k-means starts from this many clusters more than
    # the eigengap finds (up to ``max_speakers``), and the merge rule decides which are one
    # speaker. The eigengap alone misses close voices (a phone line, a crowd underneath).
    extra_clusters: int = 0
    # How the number of speakers is estimated: "eigengap" (the rule above) or "learned" (the
    # model in ``count_model``, None: the bundled ``models/speaker_count``; the eigengap when
    # the model is missing). "learned" did not pass its rule on the development set (Round 6,
    # docs/diarization-experiments/2026-12-05-learned-speaker-count.md), so the eigengap stays
    # the default.
    speaker_count: str = "eigengap"
    count_model: str | None = None
    # When set (and the speakers estimated): every count from the eigengap's up to the largest
    # k whose eigengap is at least this share of the largest is clustered (k-means, then the
    # merge rule), and the partition with the highest mean silhouette (cosine, on the window
    # embeddings) wins. A rarely heard voice close to a talkative one (a fourth speaker on a
    # phone line or over a crowd) opens only a small eigengap but a partition that holds
    # together. None: the eigengap's count alone. 0.4: chosen with the diarizer's crowd
    # guard on development seeds 4-6 pooled (Round 10,
    # docs/diarization-experiments/2026-12-06-count-adds-and-removes.md; alone it raised seed
    # 4's DER, Round 9, docs/diarization-experiments/2026-12-06-rarely-heard-fourth-speaker.md).
    silhouette_share: float | None = 0.4
    # Clusters holding fewer windows than this share are absorbed by their nearest neighbour.
    min_cluster_share: float = 0.02
    kmeans_iterations: int = 10
    seed: int = 0


def _refined_affinity(
    embeddings: FloatArray, params: ClusteringParams, share: float | None = None
) -> FloatArray:
    sim = np.clip(embeddings @ embeddings.T, 0.0, 1.0).astype(np.float64)
    n = sim.shape[0]
    keep = max(10, round((params.prune_share if share is None else share) * n))
    if keep < n:
        threshold = np.partition(sim, n - keep, axis=1)[:, n - keep][:, None]
        sim = np.where(sim >= threshold, sim, sim * 0.01)
    sim = np.maximum(sim, sim.T)
    sim = sim @ sim.T  # diffusion
    sim /= np.maximum(sim.max(axis=1, keepdims=True), 1e-12)
    affinity: FloatArray = ((sim + sim.T) / 2).astype(np.float32)
    return affinity


def _eigen(affinity: FloatArray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``count`` smallest eigenvalues and eigenvectors of the normalised Laplacian."""
    degree = affinity.sum(axis=1)
    d = 1.0 / np.sqrt(np.maximum(degree, 1e-12))
    laplacian = np.eye(affinity.shape[0]) - (d[:, None] * affinity * d[None, :])
    count = min(count, affinity.shape[0])
    values, vectors = eigh(laplacian, subset_by_index=[0, count - 1])
    return values, vectors


def _count_from_gaps(gaps: np.ndarray, gap_share: float) -> int:
    if not gaps.size:
        return 1
    if gap_share >= 1.0:
        return int(np.argmax(gaps) + 1)
    return int(np.flatnonzero(gaps >= gap_share * gaps.max())[-1] + 1)


def estimate_speakers(affinity: FloatArray, max_speakers: int, gap_share: float = 1.0) -> int:
    """The number of clusters (1 to ``max_speakers``): the largest k whose eigengap is at least
    ``gap_share`` of the largest eigengap (1.0: at the largest eigengap)."""
    values, _ = _eigen(affinity, max_speakers + 1)
    return _count_from_gaps(np.diff(values)[:max_speakers], gap_share)


def count_features(
    embeddings: FloatArray, affinity: FloatArray, max_speakers: int, gap_share: float
) -> FloatArray:
    """What the learned speaker count reads (``count.COUNT_FEATURES``), from the windows and
    the refined affinity the spectral step clusters."""
    values, _ = _eigen(affinity, max(max_speakers, COUNT_GAPS) + 1)
    gaps = np.diff(values)
    counted = gaps[:max_speakers]
    head = np.zeros(COUNT_GAPS)
    head[: min(COUNT_GAPS, gaps.size)] = gaps[:COUNT_GAPS]
    largest = max(float(head.max()), 1e-6)
    n = embeddings.shape[0]
    similarity = (embeddings @ embeddings.T)[np.triu_indices(n, k=1)]
    return np.array(
        [
            *(head / largest),
            np.log(largest),
            _count_from_gaps(counted, 1.0),
            _count_from_gaps(counted, gap_share),
            np.log(n),
            float(np.median(similarity)),
            float(np.percentile(similarity, 10)),
        ],
        dtype=np.float64,
    )


def count_inputs(embeddings: FloatArray, params: ClusteringParams) -> tuple[FloatArray, int]:
    """The refined affinity the spectral step clusters, and the most speakers it may find
    (at least 3 embeddings)."""
    limit = min(params.max_speakers, embeddings.shape[0] - 1)
    if params.auto_prune_max is None:
        return _refined_affinity(embeddings, params), limit
    return _auto_pruned(embeddings, params, limit, params.auto_prune_max), limit


def _estimated_count(
    embeddings: FloatArray, affinity: FloatArray, limit: int, params: ClusteringParams
) -> int:
    if params.speaker_count not in ("eigengap", "learned"):
        raise ValueError(
            f"speaker_count must be 'eigengap' or 'learned', not {params.speaker_count!r}"
        )
    model = load_count_model(params.count_model) if params.speaker_count == "learned" else None
    if model is None:
        return estimate_speakers(affinity, limit, params.eigengap_share)
    features = count_features(embeddings, affinity, limit, params.eigengap_share)
    return model.predict(features, limit)


def _auto_pruned(
    embeddings: FloatArray, params: ClusteringParams, max_speakers: int, top: float
) -> FloatArray:
    """The refined affinity at the pruning share (0.05 to ``top``) whose largest eigengap is
    widest for the share it keeps (the lowest share / gap)."""
    candidates = []
    for share in np.arange(0.05, max(top, 0.05) + 1e-9, 0.05).tolist():
        affinity = _refined_affinity(embeddings, params, share)
        values, _ = _eigen(affinity, max_speakers + 1)
        gap = float(np.diff(values)[:max_speakers].max()) if values.size > 1 else 0.0
        candidates.append((share / max(gap, 1e-12), affinity))
    return min(candidates, key=lambda c: c[0])[1]


def spectral_embedding(affinity: FloatArray, k: int) -> FloatArray:
    """Rows of the first ``k`` eigenvectors, L2-normalised: what k-means clusters."""
    _, vectors = _eigen(affinity, k)
    rows: FloatArray = (
        vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    ).astype(np.float32)
    return rows


def _centroids(embeddings: FloatArray, labels: IntArray, k: int) -> FloatArray:
    centroids = np.stack([embeddings[labels == c].mean(axis=0) for c in range(k)])
    norms = np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-12)
    result: FloatArray = (centroids / norms).astype(np.float32)
    return result


def relabel(labels: IntArray) -> IntArray:
    """Labels 0..k-1 in order of first appearance (S1 is whoever speaks first)."""
    order = {label: i for i, label in enumerate(dict.fromkeys(labels.tolist()))}
    return np.array([order[label] for label in labels.tolist()], dtype=np.int64)


def _assign(embeddings: FloatArray, centroids: FloatArray) -> IntArray:
    return np.asarray(np.argmax(embeddings @ centroids.T, axis=1), dtype=np.int64)


def _merge(embeddings: FloatArray, labels: IntArray, params: ClusteringParams) -> IntArray:
    """Merge the most similar pair of clusters, or absorb the smallest, until neither applies."""
    while True:
        ids = np.unique(labels)
        if ids.size <= 1:
            return labels
        labels = np.searchsorted(ids, labels).astype(np.int64)
        k = ids.size
        centroids = _centroids(embeddings, labels, k)
        counts = np.bincount(labels, minlength=k)
        sim = centroids @ centroids.T
        np.fill_diagonal(sim, -1.0)
        small = int(np.argmin(counts))
        if counts[small] < params.min_cluster_share * labels.size:
            target = int(np.argmax(sim[small]))
            labels = np.where(labels == small, target, labels)
            continue
        if params.merge_gap is None:
            a, b = np.unravel_index(int(np.argmax(sim)), sim.shape)
            if sim[a, b] < params.merge_similarity:
                return labels
        else:
            # How much closer a cluster's windows are to their own centroid than to another's;
            # a channel that makes every voice alike (a phone line) lowers both together.
            to = embeddings @ centroids.T  # (windows, clusters)
            own = np.array([to[labels == c, c].mean() for c in range(k)])
            cross = np.array([[to[labels == c, d].mean() for d in range(k)] for c in range(k)])
            gap = own[:, None] - cross
            gap = np.minimum(gap, gap.T)
            np.fill_diagonal(gap, np.inf)
            a, b = np.unravel_index(int(np.argmin(gap)), gap.shape)
            if gap[a, b] >= params.merge_gap:
                return labels
        labels = np.where(labels == b, a, labels)


def cluster_embeddings(
    embeddings: FloatArray, num_speakers: int | None = None, params: ClusteringParams | None = None
) -> IntArray:
    """A speaker label (0, 1, ...) per L2-normalised embedding."""
    params = params or ClusteringParams()
    n = embeddings.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if n < 3 or num_speakers == 1:
        return np.zeros(n, dtype=np.int64)
    affinity, limit = count_inputs(embeddings, params)
    if num_speakers is not None:
        return relabel(_partition(embeddings, affinity, min(num_speakers, n - 1), params))
    found = _estimated_count(embeddings, affinity, limit, params)
    k = min(found + params.extra_clusters, limit)
    labels = _merge(embeddings, _partition(embeddings, affinity, k, params), params)
    share = params.silhouette_share
    if share is not None and labels.max() > 0:
        labels = _most_coherent(
            embeddings, affinity, labels, range(k + 1, limit + 1), share, params
        )
    return relabel(labels)


def without_clusters(embeddings: FloatArray, labels: IntArray, drop: np.ndarray) -> IntArray:
    """``labels`` with each window of a cluster flagged in ``drop`` (one flag per label) given
    to the nearest centroid of those kept, relabelled in order of first appearance; as they
    were when every cluster or none is flagged."""
    kept = np.flatnonzero(~drop)
    if kept.size in (0, drop.size):
        return labels
    centroids = _centroids(embeddings, labels, drop.size)[kept]
    moved = np.where(drop[labels], kept[_assign(embeddings, centroids)], labels)
    return relabel(moved)


def merged_while_alike(
    embeddings: FloatArray, labels: IntArray, score: PairScore, threshold: float
) -> IntArray:
    """``labels`` with the best-scored pair of clusters merged, and the centroids formed again,
    while that pair's ``score`` is at least ``threshold``; relabelled in order of first
    appearance."""
    while True:
        ids = np.unique(labels)
        labels = np.searchsorted(ids, labels).astype(np.int64)
        k = ids.size
        if k <= 1:
            return relabel(labels)
        centroids = _centroids(embeddings, labels, k)
        counts = np.bincount(labels, minlength=k)
        scored = [
            (score(centroids[a], centroids[b], int(min(counts[a], counts[b]))), a, b)
            for a in range(k)
            for b in range(a + 1, k)
        ]
        best, a, b = max(scored)
        if best < threshold:
            return relabel(labels)
        labels = np.where(labels == b, a, labels)


def _partition(
    embeddings: FloatArray, affinity: FloatArray, k: int, params: ClusteringParams
) -> IntArray:
    """k-means on the spectral embedding, refined on the embeddings themselves."""
    if k <= 1:
        return np.zeros(embeddings.shape[0], dtype=np.int64)
    spectral = spectral_embedding(affinity, k)
    seeds = KMeans(n_clusters=k, n_init=10, random_state=params.seed).fit_predict(spectral)
    labels = np.asarray(seeds, dtype=np.int64)
    # Each window to its nearest speaker centroid.
    for _ in range(params.kmeans_iterations):
        present = np.unique(labels)
        centroids = _centroids(embeddings, np.searchsorted(present, labels), present.size)
        new = _assign(embeddings, centroids)
        if np.array_equal(new, np.searchsorted(present, labels)):
            break
        labels = new
    return labels


def _silhouette(embeddings: FloatArray, labels: IntArray) -> float:
    if np.unique(labels).size < 2:
        return -1.0  # one speaker: the merge rule's call, which the silhouette cannot make
    return float(silhouette_score(embeddings, labels, metric="cosine"))


def _most_coherent(
    embeddings: FloatArray,
    affinity: FloatArray,
    labels: IntArray,
    larger: range,
    share: float,
    params: ClusteringParams,
) -> IntArray:
    """Of the partition at the eigengap's count (``labels``, merged, at least two speakers)
    and those at each of the ``larger`` counts whose eigengap is at least ``share`` of the
    largest one (each merged), the one with the highest mean silhouette; the smaller count on
    a tie."""
    values, _ = _eigen(affinity, larger.stop)
    top = _count_from_gaps(np.diff(values)[: larger.stop - 1], share)
    best, best_score = labels, _silhouette(embeddings, labels)
    for more in range(larger.start, min(top, larger.stop - 1) + 1):
        candidate = _merge(embeddings, _partition(embeddings, affinity, more, params), params)
        score = _silhouette(embeddings, candidate)
        if score > best_score:
            best, best_score = candidate, score
    return best
