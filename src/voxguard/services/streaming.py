"""A live call, analysed as it arrives: about once a second, who is speaking (identified),
the spoof probability of the last window, the risk, and the turns so far. When the call
ends, the whole recording is analysed as a file would be and stored as one event.

Audio comes as samples (``feed``) or as the client's binary messages (``feed_bytes``: 16-bit
PCM or Opus packets, through ``voxguard.audio.live``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from voxguard.audio.analysis import AnalyzedAudio
from voxguard.audio.live import LiveDecoder, PcmDecoder
from voxguard.audio.types import AudioClip, AudioMetadata, FloatArray
from voxguard.audio.wav import wav_bytes
from voxguard.diarization.online import OnlineDiarizer
from voxguard.errors import AudioTooLong
from voxguard.risk import RiskInputs, assess
from voxguard.services.analysis import AnalysisService
from voxguard.services.audio_input import AudioInput, quality_of
from voxguard.services.engines import require_speaker
from voxguard.services.recognition import spoof_check
from voxguard.services.runtime import Runtime
from voxguard.services.schemas import (
    AnalyzeOut,
    CandidateOut,
    RiskOut,
    StreamTurnOut,
    StreamUpdateOut,
)
from voxguard.store.db import unit_of_work

RATE = 16_000
UPDATE_S = 1.0  # how often results go out, in seconds of audio
SPOOF_WINDOW_S = 4.0  # the detector's window: the last this many seconds
MIN_SPEECH_SHARE = 0.4  # of the newest window, to say who is speaking
IDENTIFY_AFTER_S = 2.0  # speech a new voice needs before it is identified
REIDENTIFY_EVERY_S = 4.0  # and again each time it has this much more
# Speech of the voice (its latest) that each identification embeds: CAM++ costs about 20 ms
# per second of speech on one core, and the update waits for it (30 s took the lag past 1 s).
IDENTIFY_SPEECH_S = 12.0


@dataclass
class _Voice:
    speech: list[FloatArray] = field(default_factory=list)
    speech_s: float = 0.0
    identified_at_s: float = 0.0
    best: CandidateOut | None = None
    top: CandidateOut | None = None


def _tail(pieces: list[FloatArray], count: int) -> FloatArray:
    """The last ``count`` samples of ``pieces`` joined."""
    out: list[FloatArray] = []
    total = 0
    for piece in reversed(pieces):
        out.append(piece[-(count - total) :])
        total += out[-1].size
        if total >= count:
            break
    return np.concatenate(out[::-1]) if out else np.zeros(0, np.float32)


class LiveAnalysis:
    """One live call. ``feed`` 16 kHz mono samples (or ``feed_bytes`` messages in the
    decoder's encoding) as they come; ``finish`` at the end."""

    def __init__(self, runtime: Runtime, caller: str, decoder: LiveDecoder | None = None) -> None:
        self.runtime = runtime
        self.caller = caller
        self.decoder = decoder or PcmDecoder()
        self.engine = require_speaker(runtime.speaker)
        self.tracker = OnlineDiarizer(runtime.diarizer().encoder)
        self.max_samples = int(runtime.settings.max_duration_s * RATE)
        # The whole call, up to the duration limit: written in place as it arrives (np.zeros
        # takes its pages only as they are written), so an update never copies the call.
        self._buffer = np.zeros(self.max_samples, dtype=np.float32)
        self._received = 0
        self._next_update = int(UPDATE_S * RATE)
        self._voices: dict[str, _Voice] = {}

    @property
    def received_s(self) -> float:
        return self._received / RATE

    def feed(self, samples: FloatArray) -> list[StreamUpdateOut]:
        """Take more audio; one update for each second of audio completed by it."""
        if self._received + samples.size > self.max_samples:
            raise AudioTooLong(
                f"The call is over the {self.runtime.settings.max_duration_s:.0f} s limit "
                "(setting VOXGUARD_MAX_DURATION_S).",
                max_duration_s=self.runtime.settings.max_duration_s,
            )
        self._buffer[self._received : self._received + samples.size] = samples
        self._received += samples.size
        updates = []
        while self._received >= self._next_update:
            updates.append(self._update(self._next_update))
            self._next_update += int(UPDATE_S * RATE)
        return updates

    def feed_bytes(self, data: bytes) -> list[StreamUpdateOut]:
        """Take one binary message of the call (a PCM chunk, an Opus packet)."""
        return self.feed(self.decoder.decode(data))

    def audio(self) -> FloatArray:
        """The call so far (a view, not a copy)."""
        return self._buffer[: self._received]

    def _clip(self, samples: FloatArray) -> AnalyzedAudio:
        metadata = AudioMetadata("stream", "pcm_s16le", RATE, 1, samples.size / RATE, 0)
        return self.runtime.front_end.analyze_clip(AudioClip(samples, RATE, metadata))

    def _update(self, upto: int) -> StreamUpdateOut:
        began = time.perf_counter()
        audio = self.audio()[:upto]
        end_s = upto / RATE
        window_s = self.tracker.window_s()
        newest = self._clip(audio[max(0, upto - int(window_s * RATE)) :])
        speaking = newest.quality.speech_s >= MIN_SPEECH_SHARE * min(window_s, end_s)
        label = None
        if speaking:
            label = self.tracker.observe(newest.clip.samples, end_s - UPDATE_S, end_s)
            self._hear(label, audio[max(0, upto - int(UPDATE_S * RATE)) :], end_s)
        voice = self._voices.get(label) if label else None
        # The detector hears the current voice's own last seconds, not the other party's.
        if voice is not None:
            recent = self._clip(_tail(voice.speech, int(SPOOF_WINDOW_S * RATE)))
        else:
            recent = self._clip(audio[max(0, upto - int(SPOOF_WINDOW_S * RATE)) :])
        spoof = spoof_check(self.runtime, recent)
        best, top = (voice.best, voice.top) if voice else (None, None)
        assessed = assess(
            RiskInputs(
                recognized=best is not None,
                voice_probability=top.probability if top else None,
                behavior_match=None,
                spoof_probability=spoof.spoof_probability,
                spoof_threshold=spoof.threshold,
                quality=quality_of(recent).score,
                no_speech=not speaking,
                speaker_name=top.display_name if top else None,
            ),
            self.runtime.policy,
        )
        names = {k: v.best.display_name for k, v in self._voices.items() if v.best}
        return StreamUpdateOut(
            t_s=round(end_s, 2),
            speaker=label,
            speaker_id=best.speaker_id if best else None,
            display_name=best.display_name if best else None,
            voice_probability=top.probability if top else None,
            spoof_probability=spoof.spoof_probability,
            is_synthetic=spoof.is_synthetic,
            risk=RiskOut.of(assessed),
            turns=[
                StreamTurnOut(
                    start_s=round(t.start_s, 2),
                    end_s=round(t.end_s, 2),
                    speaker=t.speaker,
                    display_name=names.get(t.speaker),
                )
                for t in self.tracker.turns
            ],
            compute_s=round(time.perf_counter() - began, 4),
            bad_packets=self.decoder.bad_packets,
        )

    def _hear(self, label: str, latest: FloatArray, end_s: float) -> None:
        """Keep the voice's speech; identify it once it has enough, and again as it grows."""
        voice = self._voices.setdefault(label, _Voice())
        voice.speech.append(latest)
        voice.speech_s += latest.size / RATE
        due = (
            IDENTIFY_AFTER_S
            if voice.identified_at_s == 0
            else voice.identified_at_s + REIDENTIFY_EVERY_S
        )
        if voice.speech_s < due:
            return
        voice.identified_at_s = voice.speech_s
        analyzed = self._clip(_tail(voice.speech, int(IDENTIFY_SPEECH_S * RATE)))
        if analyzed.quality.speech_s < 1.0:
            return
        embedding = self.engine.embed(analyzed)
        with unit_of_work(self.runtime.store.sessions) as session:
            service = AnalysisService(self.runtime, session, self.caller)
            voice.best, candidates = service.identify_embedding(self.engine, embedding, None)
        voice.top = voice.best or (candidates[0] if candidates else None)

    def finish(self, filename: str = "live-call.wav") -> AnalyzeOut:
        """Analyse the whole call as a file and store it (event, alerts) as a stream."""
        data = wav_bytes(self.audio(), RATE)
        with unit_of_work(self.runtime.store.sessions) as session:
            service = AnalysisService(self.runtime, session, self.caller)
            return service.analyze(AudioInput(filename=filename, data=data), operation="stream")
