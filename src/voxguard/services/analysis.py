"""Long recordings: who spoke when, who each voice is, and which turns are synthetic.

Diarize, then for each speaker (cluster) identify it against the enrolled voiceprints from
its own speech, run the spoof check on its speech and on each of its turns, and weigh the
risk as a check does; the recording's risk is its riskiest speaker's. A MEDIUM or HIGH
speaker raises an alert that names the times of its turns.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from voxguard.audio.analysis import AnalyzedAudio, spliced
from voxguard.audio.quality import QualityCode
from voxguard.diarization.types import Diarization, Turn
from voxguard.errors import AudioError
from voxguard.risk import RiskInputs, RiskLevel, assess
from voxguard.services.audio_input import (
    AudioInput,
    analyze,
    audio_metadata,
    quality_of,
    require_speech,
)
from voxguard.services.engines import SpeakerEngineLike, require_speaker
from voxguard.services.recognition import RecognitionService
from voxguard.services.schemas import (
    AlertStatus,
    AnalyzeOut,
    CandidateOut,
    RiskOut,
    SpeakerSummaryOut,
    SpoofOut,
    TurnOut,
)
from voxguard.services.stages import stage
from voxguard.store.models import Alert

# Speech a speaker needs before it is identified (shorter: reported, never matched).
MIN_IDENTIFY_S = 1.0


def _turn_spoof(turn: Turn, joined: dict[Turn, float], spoof: SpoofOut) -> SpoofOut:
    """A turn's spoof probability: the mean of the detector's windows over the speaker's
    joined speech (``joined``: each turn's seconds of it, in order) that fall on this turn,
    weighted by how much of each does. Windows span neighbouring turns of the same speaker
    only, so short turns get a full window's evidence. An overlapped turn, or one no window
    reaches, keeps the speaker's verdict."""
    if spoof.status != "ok" or turn not in joined or spoof.threshold is None:
        return spoof
    offset = 0.0
    for other, seconds in joined.items():
        if other == turn:
            break
        offset += seconds
    start, end = offset, offset + joined[turn]
    weights, values = [], []
    for window in spoof.windows:
        shared = min(end, window["end_s"]) - max(start, window["start_s"])
        if shared > 0:
            weights.append(shared)
            values.append(window["probability"])
    if not weights:
        return spoof
    probability = round(float(np.average(values, weights=weights)), 6)
    return spoof.model_copy(
        update={
            "spoof_probability": probability,
            "is_synthetic": probability >= spoof.threshold,
            "windows": [],
        }
    )


class AnalysisService(RecognitionService):
    def analyze(
        self, item: AudioInput, num_speakers: int | None = None, operation: str = "analyze"
    ) -> AnalyzeOut:
        """``operation``: what the event records (``stream`` for a live call's recording)."""
        engine = require_speaker(self.runtime.speaker)
        analyzed = analyze(self.runtime.front_end, item)
        require_speech(analyzed, item.filename)
        with stage("diarize"):
            diarization = self.runtime.diarizer().diarize_analyzed(analyzed, num_speakers)
        summaries, turn_spoof = [], {}
        for label in diarization.speakers:
            summary, spoofs = self._speaker(engine, analyzed, diarization, label)
            summaries.append(summary)
            turn_spoof.update(spoofs)
        names = {s.speaker: s for s in summaries}
        turns = [
            TurnOut(
                start_s=t.start_s,
                end_s=t.end_s,
                speaker=t.speaker,
                speaker_id=names[t.speaker].speaker_id,
                display_name=names[t.speaker].display_name,
                spoof_probability=turn_spoof[t].spoof_probability,
                is_synthetic=turn_spoof[t].is_synthetic,
                overlap=t.overlap,
            )
            for t in diarization.turns
        ]
        risk = max(
            (s.risk for s in summaries),
            key=lambda r: r.score,
            default=RiskOut(score=0.0, level="LOW", verdict="No speech", reasons=[]),
        )
        scores: dict[str, Any] = {
            "num_speakers": len(summaries),
            "speakers": [
                s.model_dump(include={"speaker", "speaker_id", "speech_s", "spoof_probability"})
                | {"risk_level": s.risk.level, "verdict": s.risk.verdict}
                for s in summaries
            ],
            "turns": [t.model_dump() for t in turns],
            "reasons": risk.reasons,
        }
        identified = [s.speaker_id for s in summaries if s.speaker_id]
        event = self._event(
            operation,
            audio_metadata(analyzed, item),
            item.data,
            f"{len(summaries)} speaker(s)",
            scores,
            speaker_id=identified[0] if len(identified) == 1 else None,
            risk=(risk.score, risk.level, risk.verdict),
        )
        alert_ids = []
        for summary in summaries:
            if summary.risk.level in (RiskLevel.MEDIUM, RiskLevel.HIGH):
                alert = self._alert(event.id, summary, diarization)
                summary.alert_id = alert.id
                alert_ids.append(alert.id)
        return AnalyzeOut(
            event_id=event.id,
            filename=item.filename,
            duration_s=diarization.duration_s,
            num_speakers=len(summaries),
            turns=turns,
            speakers=summaries,
            risk=risk,
            alert_ids=alert_ids,
        )

    def _speaker(
        self,
        engine: SpeakerEngineLike,
        analyzed: AnalyzedAudio,
        diarization: Diarization,
        label: str,
    ) -> tuple[SpeakerSummaryOut, dict[Turn, SpoofOut]]:
        own = [t for t in diarization.turns if t.speaker == label]
        # Overlapped turns carry another voice: left out of what the speaker is judged on, as
        # are the short pauses the diarizer bridged inside a turn (they hold no voice).
        clean = [t for t in own if not t.overlap] or own
        voiced = {
            turn: stretches or [(turn.start_s, turn.end_s)]
            for turn, stretches in self.runtime.diarizer().voiced(analyzed, clean).items()
        }
        spans = [span for stretches in voiced.values() for span in stretches]
        audio = self.runtime.front_end.analyze_clip(spliced(analyzed.clip, spans))
        best: CandidateOut | None = None
        candidates: list[CandidateOut] = []
        probability: float | None = None
        if audio.quality.speech_s >= MIN_IDENTIFY_S:
            try:
                with stage("embed"):
                    embedding = engine.embed(audio)
            except AudioError:
                embedding = None
            if embedding is not None:
                best, candidates = self.identify_embedding(engine, embedding, None)
                top = best or (candidates[0] if candidates else None)
                probability = top.probability if top else None
        spoof = self._spoof(audio)
        quality = quality_of(audio)
        top = best or (candidates[0] if candidates else None)
        with stage("risk"):
            assessed = assess(
                RiskInputs(
                    recognized=best is not None,
                    voice_probability=probability,
                    behavior_match=None,
                    spoof_probability=spoof.spoof_probability,
                    spoof_threshold=spoof.threshold,
                    quality=quality.score,
                    no_speech=QualityCode.NO_SPEECH in audio.quality.codes,
                    speaker_name=top.display_name if top else None,
                ),
                self.runtime.policy,
            )
        joined = {t: sum(end - start for start, end in v) for t, v in voiced.items()}
        turn_spoof = {turn: _turn_spoof(turn, joined, spoof) for turn in own}
        summary = SpeakerSummaryOut(
            speaker=label,
            speaker_id=best.speaker_id if best else None,
            display_name=best.display_name if best else None,
            identified=best is not None,
            voice_probability=probability,
            speech_s=round(diarization.speech_s(label), 2),
            turns=len(own),
            spoof_probability=spoof.spoof_probability,
            is_synthetic=spoof.is_synthetic,
            risk=RiskOut.of(assessed),
            quality=quality,
            candidates=candidates,
            alert_id=None,
        )
        return summary, turn_spoof

    def _alert(self, event_id: str, summary: SpeakerSummaryOut, diarization: Diarization) -> Alert:
        times = ", ".join(
            f"{t.start_s:.1f}-{t.end_s:.1f} s"
            for t in diarization.turns
            if t.speaker == summary.speaker
        )
        who = summary.display_name or f"unknown voice {summary.speaker}"
        return self.alerts.add(
            Alert(
                level=summary.risk.level,
                status=AlertStatus.PENDING,
                reason=(
                    f"{who} at {times}: {summary.risk.verdict}: " + "; ".join(summary.risk.reasons)
                )[:2000],
                event_id=event_id,
                speaker_id=summary.speaker_id,
            )
        )
