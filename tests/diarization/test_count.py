"""The learned speaker count at serve time: its files checked against the sidecar, the
eigengap as the fallback when it is missing, and what it predicts."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.diarization.test_clustering import _speakers
from voxguard.diarization.clustering import ClusteringParams, cluster_embeddings
from voxguard.diarization.count import (
    COEFFICIENTS,
    COUNT_FEATURES,
    NAME,
    SpeakerCountModel,
    load_count_model,
)
from voxguard.errors import ModelMismatch, ModelUnavailable
from voxguard.models import bundled_model_path

BUNDLED = bundled_model_path(NAME)


def _copy(tmp_path: Path) -> Path:
    folder = tmp_path / NAME
    shutil.copytree(BUNDLED, folder)
    return folder


def test_the_bundled_model_matches_the_code() -> None:
    model = SpeakerCountModel.from_files(BUNDLED)
    sidecar = json.loads((BUNDLED / f"{NAME}.json").read_text())
    assert tuple(sidecar["features"]) == COUNT_FEATURES
    assert model.coef.shape == (len(model.classes), len(COUNT_FEATURES))
    assert set(model.classes) <= set(range(1, ClusteringParams().max_speakers + 1))


def test_tampered_coefficients_or_other_features_are_refused(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    raw = json.loads((folder / COEFFICIENTS).read_text())
    raw["intercept"][0] += 1.0
    (folder / COEFFICIENTS).write_text(json.dumps(raw))
    with pytest.raises(ModelMismatch, match="sha256"):
        SpeakerCountModel.from_files(folder)
    folder = _copy(tmp_path / "other")
    sidecar = json.loads((folder / f"{NAME}.json").read_text())
    (folder / f"{NAME}.json").write_text(json.dumps({**sidecar, "feature_version": 99}))
    with pytest.raises(ModelMismatch, match="other features"):
        SpeakerCountModel.from_files(folder)


def test_a_missing_model_falls_back_to_the_eigengap(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match="speaker count model missing"):
        SpeakerCountModel.from_files(tmp_path)
    assert load_count_model(str(tmp_path)) is None
    x, _ = _speakers(3)
    missing = ClusteringParams(speaker_count="learned", count_model=str(tmp_path))
    expected = cluster_embeddings(x, params=ClusteringParams(speaker_count="eigengap"))
    assert np.array_equal(cluster_embeddings(x, params=missing), expected)


def test_an_unknown_count_method_is_named() -> None:
    x, _ = _speakers(2)
    with pytest.raises(ValueError, match="speaker_count must be"):
        cluster_embeddings(x, params=ClusteringParams(speaker_count="guess"))


def test_the_prediction_is_the_most_likely_class_within_the_limit() -> None:
    n = len(COUNT_FEATURES)
    coef = np.zeros((3, n))
    coef[2, 0] = 5.0  # the first feature votes for four speakers
    model = SpeakerCountModel(
        classes=(2, 3, 4),
        mean=np.zeros(n),
        scale=np.ones(n),
        coef=coef,
        intercept=np.array([0.0, 1.0, 0.0]),
        model_version="test",
    )
    low, high = np.zeros(n), np.r_[1.0, np.zeros(n - 1)]
    assert model.predict(low, limit=8) == 3
    assert model.predict(high, limit=8) == 4
    assert model.predict(high, limit=3) == 3
    assert np.isclose(model.probabilities(high).sum(), 1.0)
