"""The cross-validation protocols score each held-out generator against its own fold's genuine."""

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

from tests.training.detector.caches import one_window_cache
from voxguard.training.detector.data import Clip, FeatureCache
from voxguard.training.detector.protocols import folds_for, run_protocol, training_windows


def _cache() -> FeatureCache:
    """Corpus-style cache: two spoof generators, genuine test-split clips shared by both folds."""
    clips = [
        Clip(Path(f"g{i}.wav"), 0, "human", "corpus:bonafide:libri", split="test") for i in range(4)
    ]
    clips += [
        Clip(Path(f"a{i}.wav"), 1, "neural/a", "corpus:neural", split="test") for i in range(4)
    ]
    clips += [
        Clip(Path(f"b{i}.wav"), 1, "vocoder/b", "corpus:vocoder", split="test") for i in range(4)
    ]
    return one_window_cache(clips)


def test_each_generator_is_scored_against_the_genuine_scores_of_its_own_fold() -> None:
    cache = _cache()
    # Fold "neural/a": separates perfectly. Fold "vocoder/b": its model scores genuine clips
    # above its spoofs. Scoring fold a's spoofs against fold b's genuine scores (the old bug)
    # would report fold a as failing too.
    fold_scores = {
        "neural/a": {"g": [0.0, 0.1, 0.2, 0.3], "a": [1.0, 1.1, 1.2, 1.3]},
        "vocoder/b": {"g": [5.0, 5.1, 5.2, 5.3], "b": [2.0, 2.1, 2.2, 2.3]},
    }
    names = iter(name for name, _ in folds_for(cache, "corpus-logo"))

    def scorer(train: np.ndarray, test: np.ndarray) -> np.ndarray:
        table = fold_scores[next(names)]
        return np.array(
            [table[cache.clips[i].path.name[0]][int(cache.clips[i].path.name[1])] for i in test]
        )

    result = run_protocol(cache, "corpus-logo", scorer)
    per_group = result["per_group"]
    assert isinstance(per_group, dict)
    assert per_group["neural/a"] == 0.0
    assert per_group["vocoder/b"] == 1.0
    assert result["genuine_reference"] == "same fold"
    scores = result["scores"]
    assert isinstance(scores, dict)
    # Genuine clips keep one score per fold; spoofs appear once.
    assert scores["g0.wav@neural/a"] == 0.0 and scores["g0.wav@vocoder/b"] == 5.0
    assert scores["a0.wav"] == 1.0 and len(scores) == 4 * 2 + 8
    # One system per family here: each family's mean over its systems is that system's EER.
    assert result["per_family_systems"] == {"neural": 0.0, "vocoder": 1.0}


def test_reference_clips_are_held_out_of_every_fold_and_never_trained() -> None:
    cache = _cache()
    cache.clips[0] = Clip(Path("ref.wav"), 0, "human", "librispeech")
    folds = folds_for(cache, "corpus-logo", reference=("librispeech",))
    assert [name for name, _ in folds] == ["neural/a", "vocoder/b"]
    for _, held in folds:
        assert held[0]
        assert 0 not in training_windows(cache, held)


def test_in_domain_holds_out_the_corpus_test_split_only() -> None:
    cache = _cache()
    cache.clips[4] = Clip(Path("a_train.wav"), 1, "neural/a", "corpus:neural", split="train")
    ((name, held),) = folds_for(cache, "corpus-indomain")
    assert name == "in-domain"
    assert not held[4] and held[[0, 5, 8]].all()
    assert list(training_windows(cache, held)) == [4]


def test_no_fold_trains_on_vocoded_copies_of_the_genuine_clips_it_holds_out() -> None:
    clips = [
        Clip(Path("a_real.wav"), 0, "human", "demos:A"),
        Clip(Path("a_fake.wav"), 1, "tts", "demos:A"),
        Clip(Path("b_real.wav"), 0, "human", "demos:B"),
        Clip(Path("b_fake.wav"), 1, "tts", "demos:B"),
        Clip(Path("a_real_copy.wav"), 1, "hifigan-universal", "vocoded:demos:A"),
        Clip(Path("b_real_copy.wav"), 1, "hifigan-universal", "vocoded:demos:B"),
    ]
    cache = one_window_cache(clips)
    folds = dict(folds_for(cache, "demos-loso"))
    assert sorted(folds) == ["demos:A", "demos:B"]  # copies are never a fold, nor scored
    trained = {cache.clips[i].path.name for i in training_windows(cache, folds["demos:A"])}
    assert trained == {"b_real.wav", "b_fake.wav", "b_real_copy.wav"}
    assert not folds["demos:A"][4:].any()


def _sources_cache() -> FeatureCache:
    """Real-world-style cache: 30 sources with genuine and spoof clips of two families."""
    clips = []
    for s in range(30):
        group = f"realworld:lab{s}/page" if s % 3 else f"demos:lab{s}"
        clips.append(Clip(Path(f"{s}_real.wav"), 0, "human", group))
        family = "vocoder" if s % 2 else "codec"
        clips.append(Clip(Path(f"{s}_fake.wav"), 1, f"{family}/sys{s}", group))
    clips.append(Clip(Path("libri.flac"), 0, "human", "librispeech"))
    return one_window_cache(clips)


def test_sources_kfold_holds_every_source_out_exactly_once_and_whole() -> None:
    cache = _sources_cache()
    folds = folds_for(cache, "sources-kfold")
    assert len(folds) == 10
    held = np.sum([h for _, h in folds], axis=0)
    groups = [c.group for c in cache.clips]
    assert all(held[i] == (0 if g == "librispeech" else 1) for i, g in enumerate(groups))
    for _, h in folds:  # a source's clips are held out together
        held_groups = {g for g, x in zip(groups, h, strict=True) if x}
        assert all(h[i] for i, g in enumerate(groups) if g in held_groups)
    again = folds_for(_sources_cache(), "sources-kfold")  # stable across runs
    assert all(np.array_equal(a, b) for (_, a), (_, b) in zip(folds, again, strict=True))


def test_families_lofo_scores_each_family_against_a_genuine_pool_that_never_trains() -> None:
    cache = _sources_cache()
    folds = dict(folds_for(cache, "families-lofo"))
    assert sorted(folds) == ["codec", "vocoder"]  # demos spoofs carry no family
    labels = np.array([c.label for c in cache.clips])
    pool = folds["codec"] & (labels == 0)
    assert pool.any() and np.array_equal(pool, folds["vocoder"] & (labels == 0))
    for family, held in folds.items():
        trained = {cache.clips[i].path.name for i in training_windows(cache, held, ("demos:",))}
        assert not any(cache.clips[i].path.name in trained for i in np.flatnonzero(pool))
        spoofs = [c for c, h in zip(cache.clips, held, strict=True) if h and c.label]
        assert spoofs and all(c.system.startswith(family) for c in spoofs)
        assert not any(c.system.startswith(family) and c.path.name in trained for c in cache.clips)


def test_realworld_unseen_trains_on_the_rest_and_score_only_counts_the_named_groups() -> None:
    cache = _sources_cache()
    (name, held), *others = folds_for(cache, "realworld-unseen")
    assert name == "realworld" and not others
    groups = [c.group for c in cache.clips]
    assert all(h == g.startswith("realworld:") for h, g in zip(held, groups, strict=True))
    trained = {cache.clips[i].group for i in training_windows(cache, held, ("librispeech",))}
    assert trained and all(g.startswith("demos:") for g in trained)

    def scorer(train: np.ndarray, test: np.ndarray) -> np.ndarray:
        return np.array([float(cache.clips[i].label) for i in test])

    # sources-kfold scored on the real-world clips only: the same clips as realworld-unseen.
    for protocol in ("realworld-unseen", "sources-kfold"):
        result = run_protocol(cache, protocol, scorer, score_only=("realworld:",))
        scores = result["scores"]
        assert isinstance(scores, dict)
        expected = {str(c.path) for c in cache.clips if c.group.startswith("realworld:")}
        assert set(scores) == expected and result["eer"] == 0.0
