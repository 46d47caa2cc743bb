"""One conversation: turns of several voices laid on a timeline, its reference and its mix.

Turns alternate between speakers with a pause between them, or start before the previous one
ends (an interruption); how often and by how much is steered turn by turn so that the share
of overlapped speech lands on a target drawn in the requested band. The reference is what was
mixed: each turn's VAD speech on the conversation's time axis.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from voxguard.audio import TARGET_SAMPLE_RATE
from voxguard.audio.types import FloatArray
from voxguard.diarization import Diarization, Turn
from voxguard.evaluation.conversations.voices import Span, Voice

_MARGIN_S = 0.05  # audio kept around a turn's speech, never past the neighbouring unit
_FADE_S = 0.01
_MIN_OVERLAP_S = 0.25
_MAX_OVERLAP_S = 3.0
_MAX_ATTEMPTS = 50


@dataclass(frozen=True)
class ComposeParams:
    speakers: tuple[int, int] = (2, 4)
    duration_s: tuple[float, float] = (60.0, 120.0)
    turn_s: tuple[float, float] = (1.5, 8.0)
    pause_s: tuple[float, float] = (0.2, 1.5)
    overlap_share: tuple[float, float] = (0.10, 0.20)  # of the speech time
    level_db: float = 6.0  # each speaker's level: the reference level +- this
    # Pauses inside one speaker's speech shorter than this stay inside its reference turn
    # (the VAD already bridges pauses under 0.1 s).
    merge_gap_s: float = 0.25


@dataclass(frozen=True)
class PlacedTurn:
    speaker: str
    at_s: float  # where the cut starts in the conversation
    cut: Span  # the cut, in the voice's own samples
    speech: tuple[Span, ...]  # its speech on the conversation's time axis


@dataclass(frozen=True)
class Conversation:
    conv_id: str
    voices: tuple[Voice, ...]
    gains_db: dict[str, float]  # each speaker's level relative to the reference level
    turns: tuple[PlacedTurn, ...]
    duration_s: float
    reference: tuple[Turn, ...]  # what was mixed: each speaker's speech, overlaps marked

    @property
    def diarization(self) -> Diarization:
        return Diarization(list(self.reference), self.duration_s)

    @property
    def speech_s(self) -> float:
        """Time in which at least one speaker talks."""
        return coverage([(t.start_s, t.end_s) for t in self.reference])[0]

    @property
    def overlap_share(self) -> float:
        """Share of the speech time in which two or more speakers talk."""
        speech, overlapped = coverage([(t.start_s, t.end_s) for t in self.reference])
        return overlapped / speech if speech else 0.0

    def render(self, only: str | None = None) -> FloatArray:
        """The mix at 16 kHz (or one speaker's track alone), peak below full scale."""
        mix = np.zeros(round(self.duration_s * TARGET_SAMPLE_RATE), dtype=np.float32)
        voices = {v.label: v for v in self.voices}
        for turn in self.turns:
            if only is not None and turn.speaker != only:
                continue
            voice = voices[turn.speaker]
            piece = voice.samples[_at(turn.cut[0]) : _at(turn.cut[1])] * _fades(
                _at(turn.cut[1]) - _at(turn.cut[0])
            )
            start = _at(turn.at_s)
            mix[start : start + piece.size] += piece * 10 ** (self.gains_db[turn.speaker] / 20)
        peak = float(np.max(np.abs(mix))) if mix.size else 0.0
        if only is None and peak > 0.89:  # -1 dBFS
            mix *= 0.89 / peak
        return mix


def _at(seconds: float) -> int:
    return round(seconds * TARGET_SAMPLE_RATE)


def _fades(length: int) -> FloatArray:
    ramp = min(_at(_FADE_S), length // 2)
    envelope = np.ones(length, dtype=np.float32)
    if ramp:
        envelope[:ramp] = np.linspace(0, 1, ramp, dtype=np.float32)
        envelope[-ramp:] = envelope[:ramp][::-1]
    return envelope


def reference_turns(turns: list[PlacedTurn], merge_gap_s: float) -> tuple[Turn, ...]:
    """Each speaker's speech, pauses under ``merge_gap_s`` bridged, overlaps marked."""
    merged: list[tuple[float, float, str]] = []
    for speaker in sorted({t.speaker for t in turns}):
        spans = sorted(s for t in turns if t.speaker == speaker for s in t.speech)
        current = list(spans[0])
        for start, end in spans[1:]:
            if start - current[1] < merge_gap_s:
                current[1] = max(current[1], end)
            else:
                merged.append((current[0], current[1], speaker))
                current = [start, end]
        merged.append((current[0], current[1], speaker))
    return tuple(
        Turn(round(a, 3), round(b, 3), who, overlap=_overlaps((a, b, who), merged))
        for a, b, who in sorted(merged)
    )


def _overlaps(turn: tuple[float, float, str], others: list[tuple[float, float, str]]) -> bool:
    return any(w != turn[2] and a < turn[1] and turn[0] < b for a, b, w in others)


def coverage(spans: list[Span]) -> tuple[float, float]:
    """(time with one or more spans active, time with two or more) of (start, end) spans."""
    events = sorted([(a, 1) for a, _ in spans] + [(b, -1) for _, b in spans])
    speech = overlapped = 0.0
    active, last = 0, 0.0
    for time, step in events:
        if active >= 1:
            speech += time - last
        if active >= 2:
            overlapped += time - last
        active, last = active + step, time
    return speech, overlapped


class CompositionFailed(RuntimeError):
    """No timeline met the duration and overlap bands (the voices are too short)."""


def compose(
    conv_id: str, voices: list[Voice], seed: list[int], params: ComposeParams | None = None
) -> Conversation:
    """A conversation of ``voices`` whose duration and overlap share fall in ``params``'
    bands; draws again (deterministically, from ``seed``) until they do."""
    params = params or ComposeParams()
    for attempt in range(_MAX_ATTEMPTS):
        rng = np.random.default_rng([*seed, attempt])
        conversation = _draw(conv_id, voices, rng, params)
        low, high = params.overlap_share
        shortest, longest = params.duration_s
        if (
            low <= conversation.overlap_share <= high
            and shortest <= conversation.duration_s <= longest
        ):
            return conversation
    raise CompositionFailed(f"{conv_id}: no timeline in the bands after {_MAX_ATTEMPTS} draws")


@dataclass
class _Cursor:
    """Where each voice's next turn starts: its units are used in order, then again."""

    voice: Voice
    unit: int

    def next_piece(self, target_s: float, shortest: float, longest: float) -> tuple[int, int]:
        units = self.voice.units
        for _ in range(len(units) + 1):
            first = self.unit
            runs = [
                last
                for last in range(first, len(units))
                if shortest <= units[last][1] - units[first][0] <= longest
            ]
            if runs:
                last = min(runs, key=lambda j: abs(units[j][1] - units[first][0] - target_s))
                self.unit = (last + 1) % len(units)
                return first, last
            self.unit = (first + 1) % len(units)
        raise CompositionFailed(f"{self.voice.source}: no run of units {shortest}-{longest} s")


def _draw(
    conv_id: str, voices: list[Voice], rng: np.random.Generator, params: ComposeParams
) -> Conversation:
    target_s = rng.uniform(params.duration_s[0], params.duration_s[1] - params.turn_s[1] - 1.5)
    target_share = rng.uniform(*params.overlap_share)
    cursors = {v.label: _Cursor(v, int(rng.integers(len(v.units)))) for v in voices}
    gains = {
        v.label: round(float(rng.uniform(-params.level_db, params.level_db)), 2) for v in voices
    }
    floor_end = float(rng.uniform(0.3, 1.0))  # the silence before the first word
    last_end = {v.label: -np.inf for v in voices}
    turns: list[PlacedTurn] = []
    spans: list[Span] = []
    previous: PlacedTurn | None = None
    while floor_end < target_s:
        others = [v.label for v in voices if previous is None or v.label != previous.speaker]
        speaker = others[int(rng.integers(len(others)))]
        voice = cursors[speaker].voice
        first, last = cursors[speaker].next_piece(
            float(rng.uniform(*params.turn_s)), *params.turn_s
        )
        speech = [
            (a - voice.units[first][0], b - voice.units[first][0])
            for a, b in voice.units[first : last + 1]
        ]
        length = speech[-1][1]
        overlap = 0.0
        if previous is not None:
            overlap = _overlap_s(spans, length, target_share, rng)
            held = previous.speech[-1][1] - previous.speech[0][0]
            room = min(
                _MAX_OVERLAP_S, length - 0.5, held - 0.5, floor_end - last_end[speaker] - 0.2
            )
            overlap = min(overlap, room) if room >= _MIN_OVERLAP_S else 0.0
        start = floor_end - overlap if overlap else floor_end + float(rng.uniform(*params.pause_s))
        cut = _cut(voice, first, last)
        placed = PlacedTurn(
            speaker,
            at_s=round(start - (voice.units[first][0] - cut[0]), 4),
            cut=cut,
            speech=tuple((start + a, start + b) for a, b in speech),
        )
        turns.append(placed)
        spans.extend(placed.speech)
        floor_end = max(floor_end, start + length)
        last_end[speaker] = start + length
        previous = placed
    duration = floor_end + float(rng.uniform(0.3, 1.0))
    reference = reference_turns(turns, params.merge_gap_s)
    return Conversation(conv_id, tuple(voices), gains, tuple(turns), round(duration, 3), reference)


def _overlap_s(spans: list[Span], length: float, target: float, rng: np.random.Generator) -> float:
    """How far the next turn should reach back into the previous one: what brings the overlap
    share back to ``target`` once it is added, when the share is below it; often nothing."""
    speech, overlapped = coverage(spans)
    if speech == 0 or overlapped / speech >= target or rng.random() < 0.25:
        return 0.0
    # (overlapped + o) / (speech + length - o) = target
    needed = (target * (speech + length) - overlapped) / (1 + target)
    return float(np.clip(needed * rng.uniform(0.6, 1.4), _MIN_OVERLAP_S, _MAX_OVERLAP_S))


def _cut(voice: Voice, first: int, last: int) -> Span:
    """The audio of units ``first..last``, with a little of the pauses around them."""
    units = voice.units
    before = units[first - 1][1] if first > 0 else 0.0
    after = units[last + 1][0] if last + 1 < len(units) else voice.samples.size / TARGET_SAMPLE_RATE
    start = max(before + (units[first][0] - before) / 2, units[first][0] - _MARGIN_S)
    end = min(after - (after - units[last][1]) / 2, units[last][1] + _MARGIN_S)
    return (start, end)
