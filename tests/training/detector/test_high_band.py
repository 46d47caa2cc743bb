import io

import numpy as np
import soundfile as sf
from scipy import signal

from voxguard.training.detector.high_band import (
    BAND_RATE,
    FEATURE_NAMES,
    PRESENCE_DB,
    band_features,
    clip_band,
    decode_at,
    family_lofo,
    metadata_features,
)
from voxguard.training.detector.protocols import source_fold

PRESENCE = FEATURE_NAMES.index("presence_db")


def _noise(seconds: float = 2.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(BAND_RATE * seconds)) / BAND_RATE
    return (0.1 * rng.normal(size=t.size) * (1.2 + np.sin(2 * np.pi * 3 * t))).astype(np.float32)


def _wav(samples: np.ndarray, rate: int) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, samples, rate, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def test_a_broadband_clip_has_the_band_and_an_upsampled_16k_one_does_not() -> None:
    broadband = band_features(_noise())
    # a 16 kHz recording published at 22.05 kHz: nothing above 8 kHz
    upsampled = band_features(signal.resample_poly(_noise()[:32000], 441, 320).astype(np.float32))
    assert broadband[PRESENCE] > PRESENCE_DB
    assert upsampled[PRESENCE] < PRESENCE_DB
    assert np.isfinite(broadband).all()


def test_a_clip_too_short_for_the_view_gives_nan() -> None:
    assert np.isnan(band_features(_noise(0.1))).all()


def test_decode_at_reports_the_files_own_rate_and_resamples() -> None:
    samples, native = decode_at(_wav(_noise(1.1)[:24000], 24000), BAND_RATE)
    assert native == 24000
    assert abs(samples.size - BAND_RATE) < 600


def test_a_file_sampled_at_16k_has_no_view() -> None:
    feats, native = clip_band(_wav(_noise(1.0)[:16000], 16000), -1)
    assert native == 16000
    assert np.isnan(feats).all()


def test_metadata_control_is_one_hot_rate_and_format() -> None:
    m = metadata_features(
        np.array([22050, 48000, 16000]), np.array(["wav/pcm", "mp3/mp3", "wav/pcm"])
    )
    assert m.shape == (3, 5 + 2)
    assert m[0, 0] == 1 and m[1, 4] == 1 and m[2, :5].sum() == 0
    assert m[:, 5:].sum(axis=1).tolist() == [1, 1, 1]


def test_family_lofo_scores_each_held_out_family_against_the_genuine_pool() -> None:
    rng = np.random.default_rng(2)
    groups = np.repeat([f"realworld:page{i}" for i in range(30)], 20)
    y = np.tile(np.r_[np.zeros(10), np.ones(10)], 30).astype(int)
    families = np.where(y == 1, np.where(np.arange(y.size) % 2 == 0, "vocoder", "tts"), "")
    x = rng.normal(size=(y.size, 3))
    x[:, 0] += 2.0 * y
    present = np.ones(y.size, dtype=bool)
    fold = np.array([source_fold(g) for g in groups])
    pool = (y == 0) & np.isin(fold, (0, 1))
    base = {
        fam: {int(i): float(rng.normal()) for i in np.nonzero(pool | (families == fam))[0]}
        for fam in ("tts", "vocoder")
    }
    out = family_lofo(x, present, y, groups, families, base, weight=1.0)
    assert set(out) == {"tts", "vocoder"}
    for fam in out:
        assert 0.35 < out[fam]["base"] < 0.65  # the base is noise
        assert out[fam]["high_band"] < 0.25  # the view carries the label
