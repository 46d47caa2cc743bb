from __future__ import annotations

import pytest

from voxguard.diarization import Diarization, Turn, parse_rttm, to_rttm


def test_round_trip() -> None:
    turns = [Turn(0.0, 1.5, "S1"), Turn(1.2, 3.25, "S2", overlap=True)]
    text = to_rttm(Diarization(turns, 4.0), "call 7")
    assert text.splitlines()[1] == "SPEAKER call_7 1 1.200 2.050 <NA> <NA> S2 <NA> <NA>"
    back = parse_rttm(text)["call_7"]
    assert [(t.start_s, round(t.end_s, 3), t.speaker) for t in back] == [
        (0.0, 1.5, "S1"),
        (1.2, 3.25, "S2"),
    ]
    assert to_rttm(Diarization([], 1.0), "x") == ""


def test_a_short_line_is_refused() -> None:
    with pytest.raises(ValueError, match="line 2"):
        parse_rttm(";; comment\nSPEAKER a 1 0.0")
