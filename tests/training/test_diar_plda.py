"""Fitting the diarizer's PLDA space: which windows are a speaker's, and a fit that whitens
the within-speaker scatter and finds the between-speaker directions."""

from __future__ import annotations

import numpy as np

from voxguard.diarization.types import Turn
from voxguard.training.diar_plda import fit, window_labels


def test_a_window_is_a_speakers_only_when_nobody_else_talks_in_it() -> None:
    reference = [Turn(0.0, 2.0, "a"), Turn(1.9, 4.0, "b"), Turn(4.5, 6.0, "a")]
    starts = np.array([0, 20, 150, 180, 240, 440])
    labels = window_labels(reference, starts, 160, 0.01, min_share=0.8, max_other=0.05)
    # 0-1.6 s: a; 0.2-1.8: a; 1.5-3.1: a and b; 1.8-3.4: b with 0.2 s of a (12 %);
    # 2.4-4.0: b; 4.4-6.0: a in 94 %
    np.testing.assert_array_equal(labels, [0, 0, -1, -1, 1, 0])


def test_the_fit_whitens_within_and_orders_the_between_directions() -> None:
    rng = np.random.default_rng(0)
    dim, recordings, speakers, windows = 6, 40, 3, 50
    between = np.array([9.0, 4.0, 1.0, 0.0, 0.0, 0.0])
    rows, classes, recording_ids = [], [], []
    for r in range(recordings):
        channel = rng.normal(size=dim) * 3.0  # the same shift for every voice of a recording
        for s in range(speakers):
            mean = channel + rng.normal(size=dim) * np.sqrt(between)
            rows.append(mean + rng.normal(size=(windows, dim)) * 0.5)
            classes += [r * speakers + s] * windows
            recording_ids += [r] * windows
    x = np.concatenate(rows)
    recording = np.array(recording_ids)
    for r in range(recordings):  # the recording-centred windows the diarizer projects
        x[recording == r] -= x[recording == r].mean(axis=0)
    plda, summary = fit(x, np.array(classes), recording)
    assert summary["classes"] == recordings * speakers
    assert np.all(np.diff(plda.phi) <= 0)
    # within-speaker variance 0.25 per direction: phi is between / within
    np.testing.assert_allclose(plda.phi[:3], [36.0, 16.0, 4.0], rtol=0.35)
    within = np.concatenate(
        [x[np.array(classes) == c] - x[np.array(classes) == c].mean(0) for c in set(classes)]
    )
    projected = within @ plda.transform
    np.testing.assert_allclose(np.cov(projected.T)[:3, :3], np.eye(3), atol=0.1)
