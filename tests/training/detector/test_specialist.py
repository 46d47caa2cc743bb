import numpy as np
import pytest

from voxguard.training.detector.specialist import specialist


def test_the_head_is_fitted_on_genuine_clips_and_vocoder_copies_only() -> None:
    rng = np.random.default_rng(0)
    n = 300
    groups = np.array([f"realworld:p{i % 10}" for i in range(n)])
    family = np.array(["", "vocoder", "neural_tts"] * (n // 3))
    y = (family != "").astype(int)
    x = rng.normal(size=(n, 2))
    x[family == "vocoder", 0] += 3.0  # the vocoder cue
    x[family == "neural_tts", 1] += 3.0  # a cue the head must not learn
    score = specialist(x, y, groups, family)(np.ones(n, dtype=bool))
    everyone = np.ones(n, dtype=bool)
    s = score(everyone)
    vocoder = s[family == "vocoder"].mean() - s[family == ""].mean()
    other = s[family == "neural_tts"].mean() - s[family == ""].mean()
    assert vocoder > 0.5
    assert other < 0.25 * vocoder  # the TTS cue is not learned as a spoof cue


def test_the_head_needs_vocoder_copies_to_train() -> None:
    family = np.array(["", "neural_tts"] * 5)
    y = (family != "").astype(int)
    fit = specialist(np.zeros((10, 2)), y, np.array(["realworld:a"] * 10), family)
    with pytest.raises(ValueError, match="no vocoder spoof"):
        fit(np.ones(10, dtype=bool))
