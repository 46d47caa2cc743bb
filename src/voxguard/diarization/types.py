"""What diarization returns: speaker turns on the recording's own time axis."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Turn:
    """``speaker`` spoke from ``start_s`` to ``end_s`` (seconds from the start of the file).

    Turns of different speakers may overlap in time: overlapping speech is attributed to
    every speaker heard in it, and ``overlap`` marks the turns that share time with another.
    """

    start_s: float
    end_s: float
    speaker: str  # cluster label: "S1", "S2", ...
    overlap: bool = False

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True)
class Diarization:
    turns: list[Turn]
    duration_s: float
    # Per cluster label: the mean L2-normalised speaker embedding of its windows, for
    # identification against enrolled voiceprints.
    centroids: dict[str, list[float]] = field(default_factory=dict)

    @property
    def speakers(self) -> list[str]:
        return sorted({t.speaker for t in self.turns}, key=lambda s: (len(s), s))

    def speech_s(self, speaker: str) -> float:
        return sum(t.duration_s for t in self.turns if t.speaker == speaker)
