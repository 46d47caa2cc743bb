from __future__ import annotations

import numpy as np

from voxguard.behavior import BehaviorProfile, compare_profiles, extract_profile
from voxguard.behavior.pitch import f0_track


def _voice(f0: float, seconds: float = 2.0, syllables_per_s: float = 4.0) -> np.ndarray:
    """Harmonic tone with f0 and an amplitude envelope pulsing at the syllable rate."""
    t = np.arange(int(seconds * 16000)) / 16000
    harmonics = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 8))
    envelope = 0.55 + 0.45 * np.sin(2 * np.pi * syllables_per_s * t)
    return (0.2 * harmonics * envelope).astype(np.float32)


def test_f0_of_a_harmonic_tone() -> None:
    for f0 in (120.0, 220.0):
        assert abs(float(np.median(f0_track(_voice(f0)))) - f0) < 0.03 * f0


def test_profile_features_follow_the_signal() -> None:
    profile = extract_profile(_voice(150.0, syllables_per_s=4.0))
    assert abs(profile.pitch_median_hz - 150.0) < 4.0
    assert 3.0 <= profile.speaking_rate <= 5.0
    assert profile.voiced_ratio > 0.8
    assert BehaviorProfile.from_dict(profile.to_dict()).speech_s == profile.speech_s


def test_same_behavior_matches_better_than_different() -> None:
    enrolled = extract_profile(_voice(120.0))
    same = compare_profiles(enrolled, extract_profile(_voice(122.0)))
    other = compare_profiles(enrolled, extract_profile(_voice(240.0, syllables_per_s=7.0)))
    assert 0.0 <= other < same <= 1.0
    assert same > 0.8 and other < 0.5


def test_silence_gives_a_neutral_profile() -> None:
    silent = extract_profile(np.zeros(16000, dtype=np.float32))
    assert silent.pitch_median_hz == 0.0
    assert compare_profiles(silent, silent) == 0.5


def test_merge_weights_by_speech() -> None:
    a = extract_profile(_voice(100.0, seconds=3.0))
    b = extract_profile(_voice(200.0, seconds=1.0))
    merged = a.merged(b)
    assert a.pitch_median_hz < merged.pitch_median_hz < b.pitch_median_hz
    assert merged.speech_s == a.speech_s + b.speech_s
