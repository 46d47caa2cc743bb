from __future__ import annotations

import dataclasses

import pytest

from voxguard.risk import RiskInputs, RiskLevel, RiskPolicy, Verdict, assess

# recognized, voice P, behavior, spoof, quality, no_speech -> level, verdict
CASES = [
    ("genuine", True, 0.97, 0.8, 0.05, 0.9, False, RiskLevel.LOW, Verdict.NORMAL),
    ("genuine, no spoof model", True, 0.97, 0.8, None, 0.9, False, RiskLevel.LOW, Verdict.NORMAL),
    (
        "cloned voice of enrolled user",
        True,
        0.97,
        0.8,
        0.9,
        0.9,
        False,
        RiskLevel.HIGH,
        Verdict.SYNTHETIC,
    ),
    ("synthetic stranger", False, 0.1, None, 0.95, 0.9, False, RiskLevel.HIGH, Verdict.SYNTHETIC),
    ("stranger", False, 0.05, None, 0.05, 0.9, False, RiskLevel.MEDIUM, Verdict.UNKNOWN),
    ("near miss", False, 0.4, None, 0.05, 0.9, False, RiskLevel.MEDIUM, Verdict.IMPERSONATION),
    ("nobody enrolled", False, None, None, None, 0.9, False, RiskLevel.MEDIUM, Verdict.UNKNOWN),
    ("odd behavior", True, 0.9, 0.1, 0.05, 0.9, False, RiskLevel.MEDIUM, Verdict.IMPERSONATION),
    ("silence", False, None, None, None, 0.0, True, RiskLevel.MEDIUM, Verdict.POOR_AUDIO),
    ("noisy", True, 0.9, 0.8, 0.1, 0.1, False, RiskLevel.MEDIUM, Verdict.POOR_AUDIO),
    ("bad stranger", False, 0.1, 0.0, 0.45, 0.35, False, RiskLevel.MEDIUM, Verdict.UNKNOWN),
]


@pytest.mark.parametrize(
    ("recognized", "voice", "behavior", "spoof", "quality", "no_speech", "level", "verdict"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_risk_table(
    recognized: bool,
    voice: float | None,
    behavior: float | None,
    spoof: float | None,
    quality: float,
    no_speech: bool,
    level: RiskLevel,
    verdict: Verdict,
) -> None:
    result = assess(RiskInputs(recognized, voice, behavior, spoof, quality, no_speech, "Ann"))
    assert (result.risk_level, result.verdict) == (level, verdict)
    assert 0.0 <= result.risk_score <= 1.0
    assert RiskPolicy().level_of(result.risk_score) == level  # score and level agree
    assert result.reasons


def test_spoofing_aware_rule_names_the_matched_speaker() -> None:
    result = assess(RiskInputs(True, 0.99, 0.9, 0.8, 1.0, speaker_name="Ann"))
    assert result.reasons[0].startswith("voice matches Ann but is likely synthetic")


def test_unavailable_spoof_check_is_reported() -> None:
    result = assess(RiskInputs(True, 0.99, 0.9, None, 1.0))
    assert any("spoof check unavailable" in r for r in result.reasons)


def test_weights_and_bands_are_configurable() -> None:
    strict = RiskPolicy(medium=0.01, high=0.02)
    assert assess(RiskInputs(True, 0.97, 0.8, 0.05, 0.9), strict).risk_level == RiskLevel.HIGH
    voice_only = RiskPolicy(weight_behavior=0, weight_spoof=0, weight_quality=0)
    assert assess(RiskInputs(True, 0.8, 0.0, 0.0, 0.0), voice_only).risk_score == pytest.approx(
        0.35  # raised to the MEDIUM floor by the poor-audio rule, not by the weights
    )


def test_spoof_threshold_follows_the_detector_unless_set() -> None:
    from voxguard.config import Settings

    assert RiskPolicy.from_settings(Settings(), detector_threshold=0.62).spoof_threshold == 0.62
    assert RiskPolicy.from_settings(Settings()).spoof_threshold == 0.5
    explicit = Settings(spoof_threshold=0.8)
    assert RiskPolicy.from_settings(explicit, detector_threshold=0.62).spoof_threshold == 0.8


def test_the_detectors_own_threshold_decides_the_synthetic_rule() -> None:
    policy = RiskPolicy(spoof_threshold=0.5)
    base = RiskInputs(
        recognized=True,
        voice_probability=0.95,
        behavior_match=0.9,
        spoof_probability=0.6,
        quality=0.9,
    )
    assert assess(base, policy).verdict == Verdict.SYNTHETIC  # the policy's 0.5
    # Judged by its channel's 0.75, the same probability is not synthetic ...
    lenient = assess(dataclasses.replace(base, spoof_threshold=0.75), policy)
    assert lenient.verdict != Verdict.SYNTHETIC
    # ... and by 0.55 it is.
    strict = assess(dataclasses.replace(base, spoof_threshold=0.55), policy)
    assert strict.verdict == Verdict.SYNTHETIC
