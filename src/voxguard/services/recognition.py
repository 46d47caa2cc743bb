"""Verify (1:1), identify (1:N), the monitoring check, and spoof detection."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from voxguard.audio.analysis import AnalyzedAudio
from voxguard.audio.quality import QualityCode, QualityReport
from voxguard.behavior import BehaviorProfile, compare_profiles, extract_profile
from voxguard.errors import AudioError, Conflict, SpeakerNotFound
from voxguard.risk import RiskInputs, RiskLevel, Verdict, assess
from voxguard.services.audio_input import (
    AudioInput,
    analyze,
    analyze_all,
    audio_metadata,
    quality_of,
    quality_out,
    require_speech,
)
from voxguard.services.engines import SpeakerEngineLike, require_speaker, require_spoof
from voxguard.services.feature_input import analyze_features, features_metadata
from voxguard.services.runtime import Runtime
from voxguard.services.schemas import (
    AlertStatus,
    CandidateOut,
    CheckOut,
    DetectOut,
    IdentifyOut,
    MelFeaturesIn,
    SpoofOut,
    VerifyOut,
)
from voxguard.services.stages import stage
from voxguard.speaker.types import Candidate, Embedding, Voiceprint
from voxguard.store.alerts import AlertRepository
from voxguard.store.events import EventRepository
from voxguard.store.models import Alert, CheckEvent, Speaker
from voxguard.store.speakers import SpeakerRepository


class RecognitionService:
    def __init__(self, runtime: Runtime, session: Session, caller: str) -> None:
        self.runtime = runtime
        self.speakers = SpeakerRepository(session)
        self.events = EventRepository(session)
        self.alerts = AlertRepository(session)
        self.caller = caller

    def verify(self, speaker_id: str, item: AudioInput) -> VerifyOut:
        engine = require_speaker(self.runtime.speaker)
        enrolled = self._enrolled(engine, speaker_id)
        return self._verify(engine, enrolled, self._audio_probe(engine, item))

    def verify_features(self, speaker_id: str, features: MelFeaturesIn) -> VerifyOut:
        """``verify`` on speaker-encoder features sent instead of audio (privacy mode)."""
        engine = require_speaker(self.runtime.speaker)
        enrolled = self._enrolled(engine, speaker_id)
        return self._verify(engine, enrolled, self._features_probe(engine, features))

    def identify(self, item: AudioInput, top_k: int | None = None) -> IdentifyOut:
        engine = require_speaker(self.runtime.speaker)
        return self._identify_probe(engine, self._audio_probe(engine, item), top_k)

    def identify_features(self, features: MelFeaturesIn, top_k: int | None = None) -> IdentifyOut:
        """``identify`` on speaker-encoder features sent instead of audio (privacy mode)."""
        engine = require_speaker(self.runtime.speaker)
        return self._identify_probe(engine, self._features_probe(engine, features), top_k)

    def _enrolled(self, engine: SpeakerEngineLike, speaker_id: str) -> tuple[Speaker, Voiceprint]:
        speaker = self.speakers.get(speaker_id)
        if speaker is None:
            raise SpeakerNotFound(f"No speaker with id {speaker_id!r}.", speaker_id=speaker_id)
        row = self.speakers.voiceprint(speaker_id, engine.model_version)
        if row is None:
            raise Conflict(
                f"{speaker.display_name} was enrolled with another speaker model than "
                f"{engine.model_version}; add samples to enroll them again.",
                speaker_id=speaker_id,
            )
        return speaker, Voiceprint.from_bytes(self.runtime.store.cipher.decrypt(row.ciphertext))

    def _verify(
        self, engine: SpeakerEngineLike, enrolled: tuple[Speaker, Voiceprint], probe: _Probe
    ) -> VerifyOut:
        speaker, voiceprint = enrolled
        result = engine.verify(voiceprint, probe.embedding)
        decision = "accept" if result.accepted else "reject"
        scores = {"similarity": result.score, "probability": result.probability, "llr": result.llr}
        event = self._event(
            "verify", probe.audio, probe.raw_audio, decision, scores, speaker_id=speaker.id
        )
        return VerifyOut(
            event_id=event.id,
            speaker_id=speaker.id,
            display_name=speaker.display_name,
            similarity=result.score,
            normalized_score=result.normalized_score,
            llr=result.llr,
            probability=result.probability,
            threshold=result.threshold,
            accepted=result.accepted,
            decision=decision,
            quality=quality_out(probe.quality),
        )

    def _identify_probe(
        self, engine: SpeakerEngineLike, probe: _Probe, top_k: int | None
    ) -> IdentifyOut:
        best, candidates = self.identify_embedding(engine, probe.embedding, top_k)
        decision = "identified" if best else "unknown"
        scores = {"candidates": [c.model_dump() for c in candidates]}
        event = self._event(
            "identify",
            probe.audio,
            probe.raw_audio,
            decision,
            scores,
            speaker_id=best.speaker_id if best else None,
        )
        return IdentifyOut(
            event_id=event.id,
            decision=decision,
            best=best,
            candidates=candidates,
            quality=quality_out(probe.quality),
        )

    def check(self, item: AudioInput) -> CheckOut:
        """Identify, compare behavior, run the spoof check, weigh quality; alert on risk."""
        engine = require_speaker(self.runtime.speaker)
        analyzed, embedding = self._embed(engine, item)
        best, candidates = self.identify_embedding(engine, embedding, None)
        top = best or (candidates[0] if candidates else None)
        behavior = None
        if best is not None:
            stored = self.speakers.get(best.speaker_id)
            if stored is not None and stored.behavior_profile:
                with stage("behavior"):
                    behavior = compare_profiles(
                        BehaviorProfile.from_dict(stored.behavior_profile),
                        extract_profile(analyzed.speech),
                    )
        spoof = self._spoof(analyzed)
        quality = quality_of(analyzed)
        with stage("risk"):
            risk = assess(
                RiskInputs(
                    recognized=best is not None,
                    voice_probability=top.probability if top else None,
                    behavior_match=behavior,
                    spoof_probability=spoof.spoof_probability,
                    spoof_threshold=spoof.threshold,
                    quality=quality.score,
                    no_speech=QualityCode.NO_SPEECH in analyzed.quality.codes,
                    speaker_name=top.display_name if top else None,
                ),
                self.runtime.policy,
            )
        scores: dict[str, Any] = {
            "voice_similarity": top.score if top else None,
            "voice_probability": top.probability if top else None,
            "behavior_match": behavior,
            "spoof_probability": spoof.spoof_probability,
            "spoof_status": spoof.status,
            "reasons": risk.reasons,
        }
        event = self._event(
            "check",
            audio_metadata(analyzed, item),
            item.data,
            "recognized" if best else "unknown",
            scores,
            speaker_id=best.speaker_id if best else None,
            risk=(risk.risk_score, str(risk.risk_level), str(risk.verdict)),
        )
        alert_id = None
        if risk.risk_level in (RiskLevel.MEDIUM, RiskLevel.HIGH):
            alert = self.alerts.add(
                Alert(
                    level=str(risk.risk_level),
                    status=AlertStatus.PENDING,
                    reason=f"{risk.verdict}: " + "; ".join(risk.reasons),
                    event_id=event.id,
                    speaker_id=_alert_subject(best, top, risk.verdict),
                )
            )
            alert_id = alert.id
        return CheckOut(
            event_id=event.id,
            recognized=best is not None,
            speaker=best,
            voice_similarity=top.score if top else None,
            voice_probability=top.probability if top else None,
            behavior_match=behavior,
            spoof_probability=spoof.spoof_probability,
            spoof=spoof,
            quality=quality,
            risk_score=risk.risk_score,
            risk_level=str(risk.risk_level),
            verdict=str(risk.verdict),
            reasons=risk.reasons,
            alert_id=alert_id,
            candidates=candidates,
        )

    def detect(self, inputs: Sequence[AudioInput]) -> list[DetectOut]:
        limit = self.runtime.settings.max_batch_files
        analyzed = analyze_all(self.runtime.front_end, inputs, limit)
        require_spoof(self.runtime.spoof)  # after the input checks: bad input is a 4xx anyway
        results = []
        for item, audio in zip(inputs, analyzed, strict=True):
            spoof = self._spoof(audio, strict=True)
            decision = "synthetic" if spoof.is_synthetic else "bonafide"
            scores = {"spoof_probability": spoof.spoof_probability, "windows": spoof.windows}
            metadata = audio_metadata(audio, item)
            event = self._event("detect", metadata, item.data, decision, scores)
            results.append(
                DetectOut(
                    event_id=event.id,
                    filename=item.filename,
                    spoof=spoof,
                    quality=quality_of(audio),
                )
            )
        return results

    def _embed(
        self, engine: SpeakerEngineLike, item: AudioInput
    ) -> tuple[AnalyzedAudio, Embedding]:
        analyzed = analyze(self.runtime.front_end, item)
        require_speech(analyzed, item.filename)
        with stage("embed"):
            return analyzed, engine.embed(analyzed)

    def _audio_probe(self, engine: SpeakerEngineLike, item: AudioInput) -> _Probe:
        analyzed, embedding = self._embed(engine, item)
        return _Probe(analyzed.quality, embedding, audio_metadata(analyzed, item), item.data)

    def _features_probe(self, engine: SpeakerEngineLike, features: MelFeaturesIn) -> _Probe:
        analysis = analyze_features(features, self.runtime.settings)
        with stage("embed"):
            embedding = engine.embed_frames(analysis)
        return _Probe(analysis.quality, embedding, features_metadata(analysis))

    def identify_embedding(
        self, engine: SpeakerEngineLike, embedding: Embedding, top_k: int | None
    ) -> tuple[CandidateOut | None, list[CandidateOut]]:
        gallery = self.runtime.gallery.get(engine, self.speakers, self.runtime.store.cipher)
        if not len(gallery):
            return None, []
        k = top_k or self.runtime.settings.identify_top_k
        with stage("search"):
            result = engine.identify(embedding, gallery, k)
        names = self.speakers.names([c.speaker_id for c in result.candidates])
        candidates = [_candidate(c, names) for c in result.candidates]
        best = _candidate(result.best, names) if result.best else None
        return best, candidates

    def _spoof(self, analyzed: AnalyzedAudio, strict: bool = False) -> SpoofOut:
        return spoof_check(self.runtime, analyzed, strict)

    def _event(
        self,
        operation: str,
        audio: dict[str, Any],
        raw_audio: bytes | None,
        decision: str,
        scores: dict[str, Any],
        speaker_id: str | None = None,
        risk: tuple[float, str, str] | None = None,
    ) -> CheckEvent:
        keep_audio = self.runtime.settings.store_raw_audio
        return self.events.add(
            CheckEvent(
                operation=operation,
                caller=self.caller,
                speaker_id=speaker_id,
                scores=scores,
                decision=decision,
                risk_score=risk[0] if risk else None,
                risk_level=risk[1] if risk else None,
                verdict=risk[2] if risk else None,
                audio=audio,
                raw_audio=raw_audio if keep_audio else None,
            )
        )


def spoof_check(runtime: Runtime, analyzed: AnalyzedAudio, strict: bool = False) -> SpoofOut:
    """The spoof verdict; with ``strict=False`` (checks) a clip the detector cannot score
    is reported as an unavailable spoof check instead of failing the whole check."""
    loaded = runtime.spoof
    if not loaded.available:
        return SpoofOut(status="unavailable", reason=loaded.reason)
    detector = require_spoof(loaded)
    try:
        with stage("spoof"):
            verdict = detector.detect(analyzed)
    except AudioError as exc:
        if strict:
            raise
        return SpoofOut(status="unavailable", reason=exc.message)
    return SpoofOut(
        status="ok",
        spoof_probability=verdict.probability,
        is_synthetic=verdict.is_synthetic,
        threshold=verdict.threshold,
        windows=verdict.windows,
        channel=verdict.channel,
        short_speech=verdict.short_speech,
        classical_tts_probability=verdict.classical_tts_probability,
        model_version=detector.model_version,
    )


@dataclass(frozen=True)
class _Probe:
    """What a verify or identify decides on, and what its event records about the input
    (``raw_audio`` None: no audio was received, as in privacy mode)."""

    quality: QualityReport
    embedding: Embedding
    audio: dict[str, Any]
    raw_audio: bytes | None = None


def _candidate(candidate: Candidate, names: dict[str, str]) -> CandidateOut:
    return CandidateOut(
        speaker_id=candidate.speaker_id,
        display_name=names.get(candidate.speaker_id, "?"),
        score=round(candidate.score, 4),
        normalized_score=round(candidate.normalized_score, 4),
        probability=round(candidate.probability, 4),
    )


def _alert_subject(
    best: CandidateOut | None, top: CandidateOut | None, verdict: Verdict
) -> str | None:
    """The speaker an alert is about: the match, or the one a near miss resembles."""
    if best is not None:
        return best.speaker_id
    if top is not None and verdict == Verdict.IMPERSONATION:
        return top.speaker_id
    return None
