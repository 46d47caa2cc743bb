"""Training the frame detectors (overlap, background): labels from reference turns, a few
steps that learn, the hand-written ONNX graph against torch, and the settings ``tune``
scores."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import numpy as np
import pytest

from voxguard.diarization import Turn
from voxguard.diarization.clustering import ClusteringParams
from voxguard.diarization.overlap import FEATURES
from voxguard.evaluation.diarization import DiarizationScorer
from voxguard.models import cpu_session
from voxguard.training.overlap import (
    TARGETS,
    Example,
    _merged,
    _params,
    _pooled,
    _settings,
    background_labels,
    frame_metrics,
    overlap_labels,
    predict_torch,
    to_onnx,
    train_model,
    tune,
)

LEVEL = FEATURES.index("log_energy")


def test_frames_where_two_reference_speakers_talk_are_labelled() -> None:
    reference = [
        Turn(0.0, 2.0, "R1"),
        Turn(1.5, 3.0, "R2"),
        Turn(2.5, 2.8, "R2"),  # a speaker's own turns overlapping each other: still one
        Turn(4.0, 5.0, "R1"),
    ]
    labels = overlap_labels(reference, 600, 0.01)
    assert labels.dtype == np.uint8 and labels.size == 600
    assert np.flatnonzero(labels).tolist() == list(range(150, 200))


def test_frames_where_no_reference_speaker_talks_are_background() -> None:
    reference = [Turn(0.0, 2.0, "R1"), Turn(1.5, 3.0, "R2"), Turn(4.0, 5.0, "R1")]
    labels = background_labels(reference, 600, 0.01)
    assert labels.dtype == np.uint8
    assert np.flatnonzero(labels).tolist() == [*range(300, 400), *range(500, 600)]
    assert TARGETS["background"].labels is background_labels
    assert TARGETS["overlap"].labels is overlap_labels


def _synthetic(seed: int, frames: int = 2000) -> Example:
    """Louder stretches are the overlaps, as two voices at once are louder than one."""
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(frames, len(FEATURES))).astype(np.float32)
    labels = np.zeros(frames, np.uint8)
    for start in rng.integers(0, frames - 100, 8):
        labels[start : start + 80] = 1
    features[:, LEVEL] = 0.4 * features[:, LEVEL] + 1.5 * labels
    return Example(f"clean/s{seed}", features, labels, np.ones(frames, bool))


def test_a_few_steps_learn_the_overlaps() -> None:
    pytest.importorskip("torch")
    examples = [_synthetic(seed) for seed in range(4)]
    lines: list[str] = []
    model, mean, std = train_model(examples, epochs=10, crop=500, batch=4, log=lines.append)
    losses = [float(re.findall(r"loss ([0-9.]+)", line)[0]) for line in lines]
    assert len(losses) == 10 and losses[-1] < 0.7 * losses[0]
    held_out = [_synthetic(seed) for seed in (10, 11)]
    probabilities = [predict_torch(model, mean, std, e.features) for e in held_out]
    assert frame_metrics(held_out, probabilities)["auc"] > 0.9


def test_the_onnx_graph_computes_what_torch_does() -> None:
    pytest.importorskip("torch")
    from voxguard.training.overlap import _build_model

    rng = np.random.default_rng(0)
    model = _build_model().eval()
    mean = rng.normal(size=len(FEATURES)).astype(np.float32)
    std = rng.uniform(0.5, 2.0, size=len(FEATURES)).astype(np.float32)
    features = rng.normal(size=(321, len(FEATURES))).astype(np.float32)
    session = cpu_session(to_onnx(model, mean, std))
    (out,) = session.run(None, {"features": np.ascontiguousarray(features.T[None])})
    assert out.shape == (1, 1, 321)
    expected = predict_torch(model, mean, std, features)
    np.testing.assert_allclose(out.reshape(-1), expected, atol=1e-5)


def test_the_graph_output_is_named_after_the_target() -> None:
    pytest.importorskip("torch")
    import onnx

    from voxguard.training.overlap import _build_model

    mean, std = np.zeros(len(FEATURES), np.float32), np.ones(len(FEATURES), np.float32)
    graph = onnx.load_from_string(to_onnx(_build_model().eval(), mean, std, output="background"))
    assert [o.name for o in graph.graph.output] == ["background"]


def _tune_args(param: list[str], grid: bool = False) -> argparse.Namespace:
    return argparse.Namespace(param=param, thresholds="0.5,0.7", grid=grid)


def test_tune_scores_the_defaults_then_each_setting_alone() -> None:
    settings = _settings(_tune_args(["background_threshold=0.6,off", "min_speaker_similarity=0.4"]))
    assert settings == [
        {},
        {"background_threshold": 0.6},
        {"background_threshold": None},
        {"min_speaker_similarity": 0.4},
    ]
    # Without --param: the overlap detector off, then each of --thresholds (Round 3).
    assert _settings(_tune_args([])) == [
        {},
        {"overlap_threshold": None},
        {"overlap_threshold": 0.5},
        {"overlap_threshold": 0.7},
    ]
    with pytest.raises(SystemExit, match="DiarizationParams"):
        _settings(_tune_args(["no_such_field=1"]))


def test_tune_reaches_the_clustering_and_scores_a_grid() -> None:
    args = _tune_args(["clustering.extra_clusters=1,2", "clustering.merge_gap=0.04,off"], grid=True)
    settings = _settings(args)
    assert settings[0] == {}
    assert settings[1:] == [
        {"clustering.extra_clusters": 1, "clustering.merge_gap": 0.04},
        {"clustering.extra_clusters": 1, "clustering.merge_gap": None},
        {"clustering.extra_clusters": 2, "clustering.merge_gap": 0.04},
        {"clustering.extra_clusters": 2, "clustering.merge_gap": None},
    ]
    # An int field gets an int (it counts clusters), a float field a float.
    assert isinstance(settings[1]["clustering.extra_clusters"], int)
    params = _params({"clustering.extra_clusters": 2, "background_threshold": 0.5})
    assert params.clustering.extra_clusters == 2
    assert params.clustering.merge_gap == ClusteringParams().merge_gap
    assert params.background_threshold == 0.5
    with pytest.raises(SystemExit, match="ClusteringParams"):
        _settings(_tune_args(["clustering.no_such_field=1"]))


def test_tune_passes_a_text_field_as_text() -> None:
    settings = _settings(_tune_args(["clustering.speaker_count=learned,eigengap"]))
    assert settings[1:] == [
        {"clustering.speaker_count": "learned"},
        {"clustering.speaker_count": "eigengap"},
    ]
    assert _params(settings[1]).clustering.speaker_count == "learned"


def test_tune_passes_an_optional_text_field_as_text() -> None:
    # Round 14: cluster_wccn defaults to None and takes a back end path's name.
    settings = _settings(_tune_args(["cluster_wccn=noisy,channel,off"]))
    assert settings[1:] == [
        {"cluster_wccn": "noisy"},
        {"cluster_wccn": "channel"},
        {"cluster_wccn": None},
    ]
    assert _params(settings[1]).cluster_wccn == "noisy"


def test_tune_passes_a_yes_no_field_as_a_bool() -> None:
    # Round 16b: cluster_centre is a bool; anything but true or false is refused.
    settings = _settings(_tune_args(["cluster_centre=false,true"]))
    assert settings[1:] == [{"cluster_centre": False}, {"cluster_centre": True}]
    assert _params(settings[1]).cluster_centre is False
    with pytest.raises(SystemExit, match="expected true or false"):
        _settings(_tune_args(["cluster_centre=0"]))


def test_tune_reaches_the_pause_bridge() -> None:
    # Round 8: min_gap_s is an optional float ('off' is None), reached by --param.
    settings = _settings(_tune_args(["min_gap_s=off,0.2,0.3"]))
    assert settings == [{}, {"min_gap_s": None}, {"min_gap_s": 0.2}, {"min_gap_s": 0.3}]
    assert _params(settings[3]).min_gap_s == 0.3


def test_tune_pools_sets_by_their_seconds_not_by_their_rates() -> None:
    # Round 10 pools three development sets: total error over total speech.
    found, missed = DiarizationScorer(), DiarizationScorer()
    found.add([Turn(0.0, 30.0, "A")], [Turn(0.0, 30.0, "S1")], 30.0)
    missed.add([Turn(0.0, 10.0, "A")], [], 10.0)
    whole = _merged([found, missed])
    assert whole.speech_s == pytest.approx(40.0, abs=0.5)
    assert whole.missed_s == pytest.approx(missed.total.missed_s)
    assert _pooled([found, missed]) == pytest.approx(100 * whole.der, abs=0.01)
    # Not the mean of the two sets' rates (0 % and about 100 %).
    assert _pooled([found, missed]) < 30.0


def test_an_ensemble_of_seeds_is_one_network_averaging_their_logits() -> None:
    import torch

    from voxguard.training.overlap import _build_model, merged_ensemble

    members = [_build_model(seed).eval() for seed in (0, 1, 2)]
    merged = merged_ensemble(members)
    x = torch.from_numpy(np.random.default_rng(3).normal(size=(2, len(FEATURES), 300)))
    x = x.float()
    with torch.no_grad():
        expected = torch.stack([m(x) for m in members]).mean(dim=0)
        np.testing.assert_allclose(merged(x).numpy(), expected.numpy(), atol=1e-5)
    # Different seeds start from different weights; one member is returned as it is.
    assert not torch.equal(members[0][0].weight, members[1][0].weight)
    assert merged_ensemble(members[:1]) is members[0]
    # The merged network exports like one member and gives the same probabilities.
    mean, std = np.zeros(len(FEATURES), np.float32), np.ones(len(FEATURES), np.float32)
    session = cpu_session(to_onnx(merged, mean, std))
    (out,) = session.run(None, {"features": x[:1].numpy()})
    np.testing.assert_allclose(
        np.asarray(out).reshape(-1), torch.sigmoid(expected[0, 0]).numpy(), atol=1e-5
    )


def test_tune_scores_campplus_settings_on_their_own_windows(
    conversation_set: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # One clean conversation: the defaults, CAM++ windows of 1.6 s and of 2.4 s, each scored.
    args = _tune_args(["cluster_embedder=campplus", "cluster_context_frames=0,40"], grid=True)
    args.dev, args.conditions, args.num_speakers_given = [conversation_set], ["clean"], False
    args.model = args.background_model = args.backend = None
    assert tune(args) == 0
    results = json.loads(capsys.readouterr().out)
    assert [r["setting"] for r in results] == [
        "defaults",
        {"cluster_embedder": "campplus", "cluster_context_frames": 0},
        {"cluster_embedder": "campplus", "cluster_context_frames": 40},
    ]
    for result in results:
        assert 0.0 <= result["pooled_der"] < 50.0
        assert result["clean"]["speech_s"] > 30.0
