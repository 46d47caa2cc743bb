from __future__ import annotations

import numpy as np

from tests.conftest import shared_data
from voxguard.audio import load_audio
from voxguard.training.canonical import Canonicaliser, to_16k
from voxguard.training.signal import rms_db


def test_to_16k_resamples_any_rate() -> None:
    x = np.zeros(22050, dtype=np.float32)
    assert abs(to_16k(x, 22050).size - 16000) <= 32


def test_trims_silence_and_sets_one_level_for_any_input() -> None:
    speech = load_audio(shared_data("librispeech", "103-1240-0000.flac")).samples[:64000]
    canonical = Canonicaliser()
    padded = np.concatenate([np.zeros(16000, np.float32), speech * 0.05, np.zeros(16000)])
    a = canonical(padded.astype(np.float32), np.random.default_rng(0))
    b = canonical(speech, np.random.default_rng(0))
    assert a is not None and b is not None
    assert a.size < padded.size - 16000  # the added second of silence is gone
    assert abs(rms_db(a) - rms_db(b)) < 1.5  # a quiet and a loud copy end up alike
    assert np.count_nonzero(a == 0.0) < a.size // 100  # no digital silence left


def test_silence_is_rejected() -> None:
    assert Canonicaliser()(np.zeros(32000, np.float32), np.random.default_rng(0)) is None
