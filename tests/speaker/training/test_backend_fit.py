from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from voxguard.speaker.scoring import unit_rows
from voxguard.speaker.training.backend_fit import (
    FittedBackend,
    fit_wccn,
    read_view_cache,
    write_view_cache,
)

DIM = 16


def _table(speakers: int = 30, views: int = 6) -> dict[str, dict[str, np.ndarray]]:
    """Speaker identity along axes 0-1, a strong per-view nuisance along axes 2-15."""
    rng = np.random.default_rng(0)
    table = {}
    for s in range(speakers):
        identity = np.zeros(DIM)
        identity[:2] = rng.normal(size=2)
        table[f"s{s}"] = {
            f"v{v}": (identity + np.r_[np.zeros(2), 3 * rng.normal(size=DIM - 2)]).astype(
                np.float32
            )
            + 5.0
            for v in range(views)
        }
    return table


def _fit(dims: int | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    table = _table()
    speakers = sorted(table)
    views = [f"v{v}" for v in range(6)]
    wccn = fit_wccn(table, speakers, views, shrink=0.0, dims=dims)
    rows = np.stack([table[s][v] for s in speakers for v in views])
    labels = np.repeat(np.arange(len(speakers)), len(views))
    return wccn.transform, wccn.apply(rows), labels


def _same_minus_other(projected: np.ndarray, labels: np.ndarray) -> float:
    similarity = projected @ projected.T
    same = labels[:, None] == labels[None, :]
    np.fill_diagonal(same, False)
    other = labels[:, None] != labels[None, :]
    return float(similarity[same].mean() - similarity[other].mean())


def test_wccn_keeps_every_dimension() -> None:
    transform, projected, _ = _fit(None)
    assert transform.shape == (DIM, DIM)
    assert np.allclose(np.linalg.norm(projected, axis=1), 1.0, atol=1e-5)


def test_lda_keeps_the_speaker_directions_with_unit_within_speaker_variance() -> None:
    transform, projected, labels = _fit(2)
    assert transform.shape == (DIM, 2)
    # The kept directions lie in the identity's plane (axes 0-1), not in the nuisance.
    assert np.abs(transform[2:]).max() < 0.1 * np.abs(transform[:2]).max()
    # Within-speaker variance of the projection (before length normalisation) is one.
    table = _table()
    x = unit_rows(np.stack([table[s][f"v{v}"] for s in sorted(table) for v in range(6)]))
    centred = (x - x.mean(axis=0)) @ transform
    within = np.zeros((2, 2))
    for label in np.unique(labels):
        d = centred[labels == label] - centred[labels == label].mean(axis=0)
        within += d.T @ d
    within /= x.shape[0]
    assert np.allclose(within, np.eye(2), atol=1e-3)
    # And the speakers stand further apart than with all dimensions whitened.
    _, whitened, _ = _fit(None)
    assert _same_minus_other(projected, labels) > _same_minus_other(whitened, labels)


def test_the_view_cache_reads_back_what_was_written(tmp_path: Path) -> None:
    table = _table(speakers=3, views=2)
    path = tmp_path / "cache" / "views.npz"
    write_view_cache(path, table)
    back = read_view_cache(path)
    assert back.keys() == table.keys()
    for speaker, views in table.items():
        assert back[speaker].keys() == views.keys()
        for view, vector in views.items():
            assert np.array_equal(back[speaker][view], vector)


def test_the_fitted_back_end_writes_the_arrays_the_loader_reads() -> None:
    table = _table()
    fitted = FittedBackend(
        wccns={"long": fit_wccn(table, sorted(table), [f"v{v}" for v in range(6)])},
        cohorts={"clean": np.ones((4, DIM), np.float64)},
    )
    with np.load(io.BytesIO(fitted.npz_bytes())) as arrays:
        assert set(arrays.files) == {"wccn_long_mean", "wccn_long_transform", "cohort_clean"}
        assert np.array_equal(arrays["wccn_long_transform"], fitted.wccns["long"].transform)
        assert arrays["cohort_clean"].dtype == np.float32
