"""The feature cache's extra training windows and on-demand views."""

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

from tests.conftest import shared_data
from tests.training.detector.caches import one_window_cache
from voxguard.spoof.features import PHASE_DIMS, FeatureParams, phase_statistics
from voxguard.training.detector import data
from voxguard.training.detector.augment import TEST_PHONE_LINES
from voxguard.training.detector.data import (
    Clip,
    FeatureCache,
    build_cache,
    concat_caches,
    keep_encoder_values,
    librispeech_clips,
    short_excerpt,
    subset,
    with_phase_features,
)

P = FeatureParams()


def test_ashort_excerpt_is_a_1_to_3_s_stretch_repeated_to_one_window() -> None:
    audio = np.arange(10 * P.sample_rate, dtype=np.float32)  # every sample unique
    rng = np.random.default_rng(0)
    for _ in range(20):
        window = short_excerpt(audio, P, rng)
        assert window.shape == (P.window_samples,)
        start = int(window[0])
        # The excerpt runs on from its start until the first jump back (the repeat).
        length = int(np.argmax(np.diff(window) < 0)) + 1
        assert 1.0 * P.sample_rate <= length <= 3.0 * P.sample_rate
        np.testing.assert_array_equal(window[:length], audio[start : start + length])
        np.testing.assert_array_equal(
            window[length : 2 * length], window[: min(length, P.window_samples - length)]
        )


def test_the_default_featuriser_makes_the_draws_of_one_build_cache_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # More clips than a chunk holds: one process and a full cache still draw the channels of
    # one build_cache call with the seed, as every build before chunking did.
    monkeypatch.setattr(data, "CHUNK_CLIPS", 1)
    clips = librispeech_clips(shared_data("librispeech"))[:2]
    one = build_cache(clips, P, augment_copies=1, seed=3)
    default = data.build_cache_parallel(clips, P, 1, 3, 0)
    np.testing.assert_array_equal(default.specs, one.specs)
    np.testing.assert_array_equal(default.window_aug, one.window_aug)


def test_a_channel_is_applied_to_every_file_before_featurising() -> None:
    clips = librispeech_clips(shared_data("librispeech"))[:1]
    clean = build_cache(clips, P, augment_copies=0)
    phone = build_cache(clips, P, augment_copies=0, channel=TEST_PHONE_LINES["g711"])
    assert (phone.window_aug == 0).all()
    high = slice(int(4200 / (P.sample_rate / 2) * clean.specs.shape[1]), None)  # above 4.2 kHz
    clean_high = float(clean.specs[:, high].astype(np.float32).mean())
    phone_high = float(phone.specs[:, high].astype(np.float32).mean())
    assert phone_high < clean_high - 20.0  # dB: the narrowband line leaves nothing up there


def test_an_excerpt_cache_holds_one_short_repeated_window_per_clip() -> None:
    clips = librispeech_clips(shared_data("librispeech"))[:3]
    cache = build_cache(clips, P, augment_copies=1, excerpt_s=(0.5, 2.0))
    # One window per clip and no augmented copy, whatever the clip's length.
    assert cache.window_clip.tolist() == [0, 1, 2]
    assert (cache.window_aug == 0).all()
    for wave in cache.waves.astype(np.float32):
        # A 0.5-2 s excerpt repeated to 4 s: the window is periodic with that length.
        period = next(
            n
            for n in range(P.sample_rate // 2, 2 * P.sample_rate + 1)
            if np.array_equal(wave[n : 2 * n], wave[:n])
        )
        assert 0.5 * P.sample_rate <= period <= 2.0 * P.sample_rate


def test_clips_without_a_window_are_refused_with_why(tmp_path: Path) -> None:
    """Zero windows must say what was wrong, not fail deep inside numpy."""
    import soundfile as sf

    from voxguard.training.detector.data import Clip

    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"not audio")
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(16_000, dtype=np.float32), 16_000)
    blip = tmp_path / "blip.wav"  # 0.2 s of tone: below the 0.5 s a window needs
    sf.write(blip, 0.1 * np.sin(np.arange(3_200) / 5).astype(np.float32), 16_000)
    clips = [Clip(p, 0, "human", "test") for p in (broken, silent, blip)]
    with pytest.raises(ValueError, match=r"no window from 3 clips: 1 could not be decoded and 2"):
        build_cache(clips, P, augment_copies=0)


def test_the_phase_view_is_filled_saved_loaded_subset_and_joined(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    clips = [Clip(Path(f"c{i}.wav"), i % 2, "s", "g") for i in range(3)]
    cache = one_window_cache(clips)
    cache.waves = (rng.normal(0, 3000, (3, 64000))).astype(np.int16)
    with_phase_features(cache)
    assert cache.phase is not None and cache.phase.shape == (3, PHASE_DIMS)
    np.testing.assert_allclose(
        cache.phase[1], phase_statistics(cache.waves[1].astype(np.float32) / 32768.0)
    )
    cache.save(tmp_path / "c.npz")
    loaded = FeatureCache.load(tmp_path / "c.npz")
    np.testing.assert_array_equal(loaded.phase, cache.phase)
    part = subset(loaded, np.array([False, True, True]))
    np.testing.assert_array_equal(part.phase, cache.phase[1:])
    joined = concat_caches([part, loaded])
    assert joined.phase is not None and len(joined.phase) == 5
    loaded.phase = None  # a cache without the view: the join drops it rather than misalign
    assert concat_caches([part, loaded]).phase is None


def test_a_compact_chunk_keeps_the_phase_view_of_the_audio_it_drops(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clips = librispeech_clips(shared_data("librispeech"))[:1]
    full = build_cache(clips, P, augment_copies=1, seed=5)
    # The encoder and baseline views are tested elsewhere; stand them in to keep this fast.
    monkeypatch.setattr(data, "with_encoder_features", lambda cache, params, blocks: cache)
    monkeypatch.setattr(data, "with_summary_features", lambda cache, params: cache)
    compact = data._featurise_chunk((clips, P, 1, 5, 0, True, 1, "standard", False))
    assert compact.waves.shape == (len(full.waves), 0)
    assert compact.phase is not None
    np.testing.assert_allclose(compact.phase, with_phase_features(full).phase, rtol=1e-6)


def test_a_merge_can_keep_block_one_of_a_wider_encoder_view(tmp_path: Path) -> None:
    clips = [Clip(Path(f"c{i}.wav"), i % 2, "s", "g") for i in range(3)]
    cache = one_window_cache(clips)
    cache.encoded = np.arange(3 * 8, dtype=np.float32).reshape(3, 8)
    cache.save(tmp_path / "wide.npz")
    wide, narrow_path = str(tmp_path / "wide.npz"), str(tmp_path / "narrow.npz")
    data.main(["--merge", wide, "--encoder-values", "4", "--cache", narrow_path])
    narrow = FeatureCache.load(Path(narrow_path))
    assert narrow.encoded is not None
    np.testing.assert_array_equal(narrow.encoded, cache.encoded[:, :4])
    np.testing.assert_array_equal(narrow.stats, cache.stats)


def test_keeping_more_encoder_values_than_the_view_has_is_refused(tmp_path: Path) -> None:
    cache = one_window_cache([Clip(Path("c.wav"), 0, "s", "g")])
    with pytest.raises(ValueError, match="no encoder view"):
        keep_encoder_values(cache, 4)
    cache.encoded = np.zeros((1, 8), np.float32)
    with pytest.raises(ValueError, match="cannot keep 9 encoder values: the view has 8"):
        keep_encoder_values(cache, 9)
    cache.save(tmp_path / "c.npz")
    with pytest.raises(SystemExit):
        data.main(["--merge", str(tmp_path / "c.npz"), "--encoder-values", "9"])


def _windows(clips: list[Clip], rows: list[tuple[int, int]], first: float) -> FeatureCache:
    """A cache whose windows are ``(clip, window_aug)`` rows, each a distinct statistic."""
    n = len(rows)
    return FeatureCache(
        specs=np.zeros((n, 1, 1), np.float16),
        waves=np.zeros((n, 0), np.int16),
        stats=(first + np.arange(n, dtype=np.float32))[:, None],
        window_clip=np.array([c for c, _ in rows]),
        window_aug=np.array([a for _, a in rows]),
        clips=clips,
        encoded=np.zeros((n, 2), np.float32),
    )


def test_augmented_windows_from_another_build_replace_the_cache_own(tmp_path: Path) -> None:
    clips = [Clip(Path(f"c{i}.wav"), i % 2, "s", "g") for i in range(2)]
    base = _windows(clips, [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1)], first=0)
    other = _windows(clips, [(0, 1), (0, 1), (1, 1)], first=100)
    base.save(tmp_path / "base.npz")
    other.save(tmp_path / "other.npz")
    out = tmp_path / "out.npz"
    merge = ["--merge", str(tmp_path / "base.npz"), "--cache", str(out)]
    data.main([*merge, "--augmented-from", str(tmp_path / "other.npz")])
    joined = FeatureCache.load(out)
    # Clip 0: its clean and excerpt windows, then the other build's two augmented ones.
    assert joined.window_clip.tolist() == [0, 0, 0, 0, 1, 1]
    assert joined.window_aug.tolist() == [0, 2, 1, 1, 0, 1]
    assert joined.stats[:, 0].tolist() == [0, 2, 100, 101, 3, 102]
    assert joined.encoded is not None and joined.encoded.shape == (6, 2)
    assert [c.path for c in joined.clips] == [c.path for c in clips]


def test_joining_a_compact_augmented_build_leaves_both_caches_as_they_were() -> None:
    clips = [Clip(Path("c0.wav"), 0, "s", "g")]
    base = _windows(clips, [(0, 0), (0, 1)], first=0)
    base.waves = np.ones((2, 4), np.int16)
    compact = _windows(clips, [(0, 1)], first=10)
    joined = data.with_augmented_from(base, compact)
    assert joined.waves.shape == (2, 0)
    assert base.waves.shape == (2, 4) and compact.waves.shape == (1, 0)


def test_augmented_windows_of_other_clips_are_refused(tmp_path: Path) -> None:
    clips = [Clip(Path(f"c{i}.wav"), 0, "s", "g") for i in range(2)]
    base = _windows(clips, [(0, 0), (1, 1)], first=0)
    other = _windows(clips[:1], [(0, 1)], first=0)
    with pytest.raises(ValueError, match="different clips \\(2 and 1\\)"):
        data.with_augmented_from(base, other)
    with pytest.raises(SystemExit):
        data.main(["--augmented-from", str(tmp_path / "x.npz")])


def test_an_augmented_only_build_has_the_augmented_windows_alone() -> None:
    clips = librispeech_clips(shared_data("librispeech"))[:1]
    full = build_cache(clips, P, augment_copies=1, seed=3)
    alone = build_cache(clips, P, augment_copies=1, seed=3, augmented_only=True)
    assert set(full.window_aug.tolist()) == {0, 1}
    assert set(alone.window_aug.tolist()) == {1} and len(alone.window_aug) > 0
    with pytest.raises(ValueError, match="no excerpts"):
        build_cache(clips, P, short_excerpts=1, augmented_only=True)
