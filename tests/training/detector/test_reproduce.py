"""A fold of a protocol becomes a model folder and a manifest that ``eval cm`` scores alike."""

import csv
import json
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("skl2onnx", reason="the baseline's ONNX export needs skl2onnx")

from tests.conftest import shared_data
from tests.training.detector.caches import one_window_cache
from voxguard.spoof.features import FeatureParams
from voxguard.training.detector.data import (
    Clip,
    build_cache,
    demo_clips,
    librispeech_clips,
    with_summary_features,
)
from voxguard.training.detector.protocols import folds_for
from voxguard.training.detector.reproduce import markdown, one_class_folds, reproduce_fold


def test_a_fold_model_scored_by_eval_cm_matches_its_cached_score(tmp_path: Path) -> None:
    demos = demo_clips(shared_data("demos"))
    picked = []
    for repo in ("demos:FastDiff", "demos:mindslab-ai"):
        for label in (0, 1):
            picked += [c for c in demos if c.group == repo and c.label == label][:2]
    reference = librispeech_clips(shared_data("librispeech"))[:2]
    params = FeatureParams()
    cache = with_summary_features(build_cache(picked + reference, params, 0), params)

    row = reproduce_fold(
        cache,
        "demos-loso",
        "demos:FastDiff",
        ["stats", "baseline"],
        tmp_path,
        exclude=(),
        reference=("librispeech",),
    )

    with Path(str(row["manifest"])).open() as fh:
        manifest = list(csv.DictReader(fh))
    scored = sorted(Path(r["path"]).name for r in manifest)
    expected = [c for c in picked if c.group == "demos:FastDiff"] + reference
    assert scored == sorted(c.path.name for c in expected)
    assert (row["n_bonafide"], row["n_spoof"]) == (4, 2)
    for approach in ("stats", "baseline"):
        result = row[approach]
        assert isinstance(result, dict)
        # eval cm re-decodes the files; the cache holds the same windows (int16-rounded).
        assert result["eval_cm"]["eer"] == pytest.approx(result["cache_eer"], abs=1e-6)
        sidecar = json.loads(
            (tmp_path / "demos-fastdiff" / approach / "spoof_detector.json").read_text()
        )
        trained_groups = {key.split("/")[0] for key in sidecar["training_data"]["sources"]}
        assert trained_groups == {"demos:mindslab-ai"}  # neither the fold nor the reference
        assert sidecar["metrics"]["held_out"] == "demos:FastDiff"


def test_folds_without_genuine_clips_are_named_before_any_training() -> None:
    clips = [
        Clip(Path("a0.wav"), 0, "human", "demos:A"),
        Clip(Path("a1.wav"), 1, "tts", "demos:A"),
        Clip(Path("b1.wav"), 1, "tts", "demos:B"),  # a page with no genuine clip
        Clip(Path("l0.wav"), 0, "human", "librispeech"),
    ]
    cache = one_window_cache(clips)
    assert one_class_folds(cache, folds_for(cache, "demos-loso")) == ["demos:B"]
    assert one_class_folds(cache, folds_for(cache, "demos-loso"), ("demos:A",)) == []
    with_reference = folds_for(cache, "demos-loso", ("librispeech",))
    assert one_class_folds(cache, with_reference) == []


def test_markdown_table_has_three_columns_per_approach_and_the_fold_means() -> None:
    def result(eer: float, cached: float, cllr: float) -> dict[str, object]:
        return {"eval_cm": {"eer": eer, "cllr": cllr}, "cache_eer": cached}

    rows: list[dict[str, object]] = [
        {"fold": "a", "n_bonafide": 10, "n_spoof": 20, "fusion": result(10.0, 9.0, 0.8)},
        {"fold": "b", "n_bonafide": 5, "n_spoof": 7, "fusion": result(20.0, 19.0, 0.9)},
    ]
    lines = markdown(rows, ["fusion"]).splitlines()
    assert lines[0] == (
        "| held-out fold | genuine | spoof | fusion EER % (eval cm) | fusion (cached) "
        "| fusion Cllr |"
    )
    assert lines[2] == "| a | 10 | 20 | 10.0 | 9.0 | 0.80 |"
    assert lines[-1] == "| mean over folds |  |  | 15.0 | 14.0 | 0.85 |"
    with pytest.raises(TypeError, match="no result for baseline"):
        markdown(rows, ["fusion", "baseline"])
