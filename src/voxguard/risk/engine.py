"""Fuse the evidence of one check into ``risk_score`` (0-1), ``risk_level`` and a verdict.

Pure functions, no I/O. Each component is a risk in 0-1:

- voice: ``1 - P(same speaker)`` of the best enrolled match (1 when nobody matched at all);
- behavior: ``1 - behavior_match`` against the matched speaker's stored profile;
- spoof: ``P(synthetic)`` from the spoof detector;
- quality: ``1 - quality score`` of the recording.

``risk_score`` is their weighted mean over the components that are available (a missing
spoof check or behavior profile drops out and the other weights are renormalised; the
reasons say so). Bands map the score to LOW / MEDIUM / HIGH. Rules then set a floor on the
level, checked in this order:

1. likely synthetic (spoof >= threshold) -> HIGH, "Synthetic voice suspected"; when the voice
   also matches an enrolled speaker the reason says so: this is the spoofing-aware
   verification rule (a cloned voice passes speaker verification by design);
2. poor audio (quality below the floor, or no speech) -> MEDIUM, "Poor audio": nothing could
   be established either way, so it neither passes nor escalates;
3. no enrolled speaker accepted, but the closest one is a near miss (P(same) at least
   ``near_match``) -> at least MEDIUM, "Possible impersonation": someone sounding like an
   enrolled user without being them;
4. no enrolled speaker accepted -> MEDIUM, "Unknown speaker" (a stranger is not evidence of
   an attack; a synthetic stranger is caught by rule 1);
5. accepted, but speaking behavior does not match the profile -> at least MEDIUM,
   "Possible impersonation";
6. otherwise "Normal" at the banded level.

The score is then clamped into the band of the level, so score and level always agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from voxguard.config import Settings


class RiskLevel(StrEnum):
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"


class Verdict(StrEnum):
    NORMAL = "Normal"
    IMPERSONATION = "Possible impersonation"
    SYNTHETIC = "Synthetic voice suspected"
    UNKNOWN = "Unknown speaker"
    POOR_AUDIO = "Poor audio"


_ORDER = [RiskLevel.LOW, RiskLevel.MEDIUM, RiskLevel.HIGH]


@dataclass(frozen=True)
class RiskPolicy:
    weight_voice: float = 0.35
    weight_behavior: float = 0.15
    weight_spoof: float = 0.4
    weight_quality: float = 0.1
    medium: float = 0.35
    high: float = 0.65
    spoof_threshold: float = 0.5
    poor_quality_below: float = 0.3
    behavior_mismatch_below: float = 0.35
    near_match: float = 0.2

    @classmethod
    def from_settings(
        cls, settings: Settings, detector_threshold: float | None = None
    ) -> RiskPolicy:
        """Policy from Settings. The spoof threshold is the detector's own calibrated default
        (``detector_threshold``, from its sidecar) unless VOXGUARD_SPOOF_THRESHOLD is set, so
        the risk rule and ``/v1/detect`` verdicts cannot drift apart."""
        spoof_threshold = (
            settings.spoof_threshold
            if detector_threshold is None
            else settings.spoof_threshold_for(detector_threshold)
        )
        return cls(
            weight_voice=settings.risk_weight_voice,
            weight_behavior=settings.risk_weight_behavior,
            weight_spoof=settings.risk_weight_spoof,
            weight_quality=settings.risk_weight_quality,
            medium=settings.risk_medium,
            high=settings.risk_high,
            spoof_threshold=spoof_threshold,
            poor_quality_below=settings.poor_quality_below,
            behavior_mismatch_below=settings.behavior_mismatch_below,
            near_match=settings.impersonation_near_match,
        )

    def level_of(self, score: float) -> RiskLevel:
        if score >= self.high:
            return RiskLevel.HIGH
        if score >= self.medium:
            return RiskLevel.MEDIUM
        return RiskLevel.LOW

    def floor_score(self, level: RiskLevel) -> float:
        return {RiskLevel.LOW: 0.0, RiskLevel.MEDIUM: self.medium, RiskLevel.HIGH: self.high}[level]


@dataclass(frozen=True)
class RiskInputs:
    recognized: bool  # an enrolled speaker was accepted
    voice_probability: float | None  # calibrated P(same) of the best match; None: no candidate
    behavior_match: float | None  # None: no stored profile to compare with
    spoof_probability: float | None  # None: spoof check unavailable
    quality: float  # 0 (unusable) to 1
    no_speech: bool = False
    speaker_name: str | None = None  # the matched speaker, or the closest candidate
    # The threshold the detector judged this probability by (its channel's own); None: the
    # policy's ``spoof_threshold``.
    spoof_threshold: float | None = None


@dataclass(frozen=True)
class RiskAssessment:
    risk_score: float
    risk_level: RiskLevel
    verdict: Verdict
    reasons: list[str] = field(default_factory=list)


def weighted_score(inputs: RiskInputs, policy: RiskPolicy) -> tuple[float, list[str]]:
    notes: list[str] = []
    parts = [
        (policy.weight_voice, 1.0 - (inputs.voice_probability or 0.0)),
        (policy.weight_quality, 1.0 - _clip(inputs.quality)),
    ]
    if inputs.behavior_match is None:
        if inputs.recognized:
            notes.append("behavior comparison unavailable (no stored profile)")
    else:
        parts.append((policy.weight_behavior, 1.0 - _clip(inputs.behavior_match)))
    if inputs.spoof_probability is None:
        notes.append("spoof check unavailable: synthetic speech was not ruled out")
    else:
        parts.append((policy.weight_spoof, _clip(inputs.spoof_probability)))
    total = sum(w for w, _ in parts)
    score = sum(w * _clip(r) for w, r in parts) / total if total > 0 else 1.0
    return score, notes


def assess(inputs: RiskInputs, policy: RiskPolicy | None = None) -> RiskAssessment:
    policy = policy or RiskPolicy()
    score, notes = weighted_score(inputs, policy)
    verdict, floor, cap, reasons = _rules(inputs, policy)
    level = min(max(policy.level_of(score), floor, key=_ORDER.index), cap, key=_ORDER.index)
    score = max(score, policy.floor_score(level))
    if level != RiskLevel.HIGH:
        ceiling = policy.floor_score(_ORDER[_ORDER.index(level) + 1])
        score = min(score, ceiling - 1e-4)
    return RiskAssessment(round(score, 4), level, verdict, reasons + notes)


_Rule = tuple[Verdict, RiskLevel, RiskLevel, list[str]]


def _rules(inputs: RiskInputs, policy: RiskPolicy) -> _Rule:
    who = inputs.speaker_name or "an enrolled speaker"
    spoof = inputs.spoof_probability
    threshold = policy.spoof_threshold if inputs.spoof_threshold is None else inputs.spoof_threshold
    if spoof is not None and spoof >= threshold:
        reason = f"likely synthetic speech (P(synthetic) = {spoof:.2f})"
        if inputs.recognized:
            reason = f"voice matches {who} but is {reason}"
        return Verdict.SYNTHETIC, RiskLevel.HIGH, RiskLevel.HIGH, [reason]
    if inputs.no_speech or inputs.quality < policy.poor_quality_below:
        return (
            Verdict.POOR_AUDIO,
            RiskLevel.MEDIUM,
            RiskLevel.MEDIUM,
            [f"audio quality too poor to rely on ({inputs.quality:.2f})"],
        )
    voice = inputs.voice_probability
    if not inputs.recognized and voice is not None and voice >= policy.near_match:
        return (
            Verdict.IMPERSONATION,
            RiskLevel.MEDIUM,
            RiskLevel.HIGH,
            [f"voice resembles {who} but does not match (P(same) = {voice:.2f})"],
        )
    if not inputs.recognized:
        reason = "voice does not match any enrolled speaker"
        return Verdict.UNKNOWN, RiskLevel.MEDIUM, RiskLevel.MEDIUM, [reason]
    behavior = inputs.behavior_match
    if behavior is not None and behavior < policy.behavior_mismatch_below:
        return (
            Verdict.IMPERSONATION,
            RiskLevel.MEDIUM,
            RiskLevel.HIGH,
            [f"voice matches {who} but speaking behavior differs (match {behavior:.2f})"],
        )
    return Verdict.NORMAL, RiskLevel.LOW, RiskLevel.HIGH, [f"voice matches {who}"]


def _clip(value: float) -> float:
    return min(max(float(value), 0.0), 1.0)
