from pathlib import Path

import numpy as np
import pytest

from voxguard.training.detector.paired_view import (
    pair_accuracy,
    pairs_of,
    ranker,
)
from voxguard.training.detector.stacking import clip_features


def _row(label: str, family: str, repo: str, utterance: str) -> dict[str, str]:
    return {"label": label, "family": family, "source_repo": repo, "utterance": utterance}


def test_pairs_join_a_copy_to_each_recording_of_its_utterance_on_its_page() -> None:
    rows = [
        _row("bonafide", "", "a/page", "u1"),
        _row("spoof", "vocoder", "a/page", "u1"),
        _row("spoof", "codec", "a/page", "u2"),  # no recording of u2
        _row("spoof", "vocoder", "b/page", "u1"),  # another page's u1
        _row("spoof", "neural_tts", "a/page", "u1"),  # not a resynthesis family
        _row("bonafide", "", "a/page", "u1"),
    ]
    assert pairs_of(rows).tolist() == [[1, 0], [1, 5]]


def test_the_ranker_learns_what_the_copy_changed_not_what_the_page_shares() -> None:
    rng = np.random.default_rng(0)
    n_pages, per_page = 12, 10
    groups = np.repeat([f"realworld:p{i}" for i in range(n_pages)], 2 * per_page)
    page = np.repeat(np.arange(n_pages), 2 * per_page)
    copy = np.tile(np.r_[np.zeros(per_page), np.ones(per_page)], n_pages).astype(bool)
    x = rng.normal(size=(groups.size, 3))
    x[:, 0] += 2.0 * copy  # what resynthesis changes
    x[:, 1] += 3.0 * (page % 2)  # a page habit: the same for a copy and its recording
    idx = np.arange(groups.size)
    pairs = np.c_[idx[copy], idx[~copy]]
    train = page < 8
    score = ranker(x, pairs, groups)(train)
    s = score(np.ones(groups.size, dtype=bool))
    held = ~train
    change = s[held & copy].mean() - s[held & ~copy].mean()
    habit = s[held & (page % 2 == 1)].mean() - s[held & (page % 2 == 0)].mean()
    assert change > 0
    assert abs(habit) < 0.25 * change
    assert pair_accuracy(s, pairs[page[pairs[:, 0]] >= 8]) > 0.8


def test_clip_features_average_the_clean_windows_of_each_clip(tmp_path: Path) -> None:
    cache = tmp_path / "cache.npz"
    np.savez(
        cache,
        clip_path=np.array(["/c/a.flac", "/c/b.flac"]),
        window_clip=np.array([0, 0, 1, 1, 0]),
        window_aug=np.array([0, 0, 0, 1, 1]),
        stats=np.array([[1.0], [3.0], [5.0], [100.0], [100.0]]),
        encoded=np.array([[0.0], [2.0], [4.0], [100.0], [100.0]]),
    )
    assert clip_features(cache, ["/c/b.flac", "/c/a.flac"]).tolist() == [[5.0, 4.0], [2.0, 1.0]]
    with pytest.raises(KeyError, match="not in"):
        clip_features(cache, ["/c/missing.flac"])
