"""Who is speaking now, for a live call: each new stretch of speech is embedded and joins the
nearest speaker heard so far, or starts a new one; turns grow as the call goes on.

The offline ``Diarizer`` sees the whole call and clusters it at once; this one sees each
second once, so its labels are a first guess that the final analysis of the stored call
replaces.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from voxguard.audio.types import FloatArray
from voxguard.diarization.types import Turn
from voxguard.speaker.encoder import Ge2eEncoder, volume_gain
from voxguard.speaker.features import mel_spectrogram


@dataclass(frozen=True)
class OnlineParams:
    # A window at least this similar to a speaker's centroid is that speaker (GE2E cosine).
    same_speaker: float = 0.7
    max_speakers: int = 8
    # A gap shorter than this between two stretches of one speaker continues the turn.
    join_gap_s: float = 0.6


@dataclass
class _Speaker:
    label: str
    total: FloatArray
    count: int = 0

    @property
    def centroid(self) -> FloatArray:
        vector: FloatArray = self.total / max(float(np.linalg.norm(self.total)), 1e-12)
        return vector


@dataclass
class OnlineDiarizer:
    encoder: Ge2eEncoder
    params: OnlineParams = field(default_factory=OnlineParams)
    speakers: list[_Speaker] = field(default_factory=list)
    turns: list[Turn] = field(default_factory=list)

    def window_s(self) -> float:
        spec = self.encoder.spec
        return spec.partial_frames * spec.hop_length / spec.sample_rate

    def observe(self, window: FloatArray, start_s: float, end_s: float) -> str:
        """The speaker of ``window`` (speech ending at ``end_s``); extends or opens a turn
        from ``start_s`` (the part of the call this window adds)."""
        embedding = self._embed(window)
        label = self._assign(embedding)
        last = next((t for t in reversed(self.turns) if t.speaker == label), None)
        if (
            last is not None
            and last is self.turns[-1]
            and start_s - last.end_s <= self.params.join_gap_s
        ):
            self.turns[-1] = Turn(last.start_s, end_s, label)
        else:
            self.turns.append(Turn(start_s, end_s, label))
        return label

    def _embed(self, window: FloatArray) -> FloatArray:
        spec = self.encoder.spec
        rms = float(np.sqrt(np.mean(np.square(window, dtype=np.float64))))
        gain = volume_gain(rms, spec.norm_target_dbfs)
        mel = mel_spectrogram(window * np.float32(gain), self.encoder.mel_config)
        frames = spec.partial_frames
        if mel.shape[0] < frames:
            mel = np.pad(mel, ((0, frames - mel.shape[0]), (0, 0)))
        vector = self.encoder.embed_mels(mel[None, -frames:])[0]
        normalized: FloatArray = vector / max(float(np.linalg.norm(vector)), 1e-12)
        return normalized

    def _assign(self, embedding: FloatArray) -> str:
        if self.speakers:
            sims = [float(s.centroid @ embedding) for s in self.speakers]
            best = int(np.argmax(sims))
            if (
                sims[best] >= self.params.same_speaker
                or len(self.speakers) >= self.params.max_speakers
            ):
                chosen = self.speakers[best]
                chosen.total = chosen.total + embedding
                chosen.count += 1
                return chosen.label
        speaker = _Speaker(f"S{len(self.speakers) + 1}", embedding.copy(), 1)
        self.speakers.append(speaker)
        return speaker.label
