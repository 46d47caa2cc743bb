"""RTTM, the NIST format diarization is exchanged and scored in."""

from __future__ import annotations

from voxguard.diarization.types import Diarization, Turn


def to_rttm(diarization: Diarization, uri: str) -> str:
    """One ``SPEAKER`` line per turn: file, channel 1, onset, duration, speaker label."""
    uri = uri.replace(" ", "_") or "recording"
    lines = [
        f"SPEAKER {uri} 1 {t.start_s:.3f} {t.duration_s:.3f} <NA> <NA> {t.speaker} <NA> <NA>"
        for t in sorted(diarization.turns, key=lambda t: (t.start_s, t.speaker))
    ]
    return "\n".join(lines) + ("\n" if lines else "")


def parse_rttm(text: str) -> dict[str, list[Turn]]:
    """Turns per file id from RTTM text (non-``SPEAKER`` lines are skipped)."""
    turns: dict[str, list[Turn]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if not fields or fields[0] != "SPEAKER":
            continue
        if len(fields) < 8:
            raise ValueError(f"RTTM line {number} has {len(fields)} fields; at least 8 expected")
        onset, duration = float(fields[3]), float(fields[4])
        turns.setdefault(fields[1], []).append(Turn(onset, onset + duration, fields[7]))
    return turns
