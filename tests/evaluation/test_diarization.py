"""DER scoring on top of pyannote.metrics, manifests, and the evaluation loop."""

from __future__ import annotations

from pathlib import Path

import pytest

from voxguard.audio.types import AudioSource
from voxguard.diarization import Diarization, Turn, to_rttm
from voxguard.errors import InvalidManifest
from voxguard.evaluation.diarization import (
    DiarizationScorer,
    evaluate,
    read_manifest,
    score_diarization,
)

REFERENCE = [Turn(0.0, 10.0, "A"), Turn(10.0, 20.0, "B"), Turn(22.0, 30.0, "A")]


def test_perfect_hypothesis_scores_zero() -> None:
    score = score_diarization(REFERENCE, REFERENCE)
    assert score.der == 0 and score.missed == score.false_alarm == score.confusion == 0
    # collar 0.25 is pyannote's: 0.125 s either side of each boundary (0, 10, 20, 22, 30 s)
    # is not scored; only 10 s has speech on both sides
    assert score.speech_s == pytest.approx(28.0 - 6 * 0.125)


def test_consistently_swapped_labels_score_zero() -> None:
    swapped = [Turn(t.start_s, t.end_s, {"A": "S2", "B": "S1"}[t.speaker]) for t in REFERENCE]
    assert score_diarization(REFERENCE, swapped).der == 0


def test_missing_turn_is_missed_speech() -> None:
    score = score_diarization(REFERENCE, REFERENCE[:2], collar=0.0)
    assert score.missed == pytest.approx(8 / 28)
    assert score.false_alarm == score.confusion == 0
    assert score.der == pytest.approx(score.missed)


def test_hand_computed_toy_case() -> None:
    reference = [Turn(0.0, 10.0, "A"), Turn(10.0, 20.0, "B")]
    # x holds on 2 s into B's turn; y runs 2 s past the end of speech
    hypothesis = [Turn(0.0, 12.0, "x"), Turn(12.0, 22.0, "y")]
    exact = score_diarization(reference, hypothesis, duration_s=22.0, collar=0.0)
    assert (exact.confusion_s, exact.false_alarm_s, exact.missed_s) == (2.0, 2.0, 0.0)
    assert exact.der == pytest.approx(4 / 20)
    # with pyannote's collar 0.25, 0.125 s either side of 0, 10 and 20 s is not scored:
    # confusion 10.125-12, false alarm 20.125-22, speech 20 - 0.5
    collared = score_diarization(reference, hypothesis, duration_s=22.0)
    assert collared.confusion_s == pytest.approx(1.875)
    assert collared.false_alarm_s == pytest.approx(1.875)
    assert collared.der == pytest.approx(3.75 / 19.5)


def test_overlapped_speech_counts_once_per_speaker() -> None:
    reference = [Turn(0.0, 10.0, "A"), Turn(5.0, 15.0, "B", overlap=True)]
    hypothesis = [Turn(0.0, 15.0, "S1")]
    score = score_diarization(reference, hypothesis, collar=0.0)
    # 20 s of speaker time; the second speaker of the overlap (5 s) is missed, and B's 5 s
    # alone are given to S1, which is mapped to A (10 s) rather than B (5 s)
    assert score.speech_s == pytest.approx(20.0)
    assert score.missed_s == pytest.approx(5.0)
    assert score.confusion_s == pytest.approx(5.0)


def test_a_speakers_own_overlapping_turns_are_not_double_counted() -> None:
    hypothesis = [Turn(0.0, 6.0, "S1"), Turn(4.0, 10.0, "S1"), Turn(10.0, 20.0, "S2")]
    assert score_diarization(REFERENCE[:2], hypothesis).der == 0


def test_aggregate_is_total_error_over_total_speech() -> None:
    scorer = DiarizationScorer(collar=0.0)
    first = scorer.add([Turn(0.0, 10.0, "A")], [Turn(0.0, 5.0, "A")])
    second = scorer.add([Turn(0.0, 30.0, "A")], [Turn(0.0, 30.0, "A")])
    assert first.der == pytest.approx(0.5) and second.der == 0
    assert scorer.total.der == pytest.approx(5 / 40)  # not the mean of 50 % and 0 %
    assert scorer.total.to_dict() == {
        "der": 12.5,
        "missed": 12.5,
        "false_alarm": 0.0,
        "confusion": 0.0,
        "speech_s": 40.0,
    }


def test_empty_reference_and_hypothesis() -> None:
    assert score_diarization([], []).der == 0
    assert score_diarization([], [Turn(0.0, 1.0, "S1")], collar=0.0).der == 1.0


# --- manifests and the evaluation loop -------------------------------------------------------


def _manifest(folder: Path, rows: list[tuple[str, str]], header: str = "audio,rttm") -> Path:
    path = folder / "manifest.csv"
    path.write_text(header + "\n" + "".join(f"{a},{r}\n" for a, r in rows))
    return path


def _recording(folder: Path, name: str, turns: list[Turn]) -> None:
    (folder / f"{name}.wav").write_bytes(b"RIFF")  # never decoded by the doubles below
    (folder / f"{name}.rttm").write_text(to_rttm(Diarization(turns, 30.0), name))


class OracleDiarizer:
    """Returns the reference next to the audio, relabelled; records the counts it was given."""

    def __init__(self) -> None:
        self.counts: list[int | None] = []

    def diarize(self, source: AudioSource, num_speakers: int | None = None) -> Diarization:
        self.counts.append(num_speakers)
        path = Path(str(source))
        turns = read_manifest_turns(path.with_suffix(".rttm"))
        relabelled = [Turn(t.start_s, t.end_s, "S" + t.speaker) for t in turns]
        return Diarization(relabelled, 30.0)


def read_manifest_turns(rttm: Path) -> list[Turn]:
    from voxguard.evaluation.diarization import read_reference

    return read_reference(rttm, rttm.stem)


def test_evaluate_with_an_oracle(tmp_path: Path) -> None:
    _recording(tmp_path, "one", REFERENCE)
    _recording(tmp_path, "two", [Turn(1.0, 4.0, "C"), Turn(3.0, 9.0, "D")])
    rows = read_manifest(_manifest(tmp_path, [("one.wav", "one.rttm"), ("two.wav", "two.rttm")]))
    assert [r.speakers for r in rows] == [2, 2]
    oracle = OracleDiarizer()
    report = evaluate(oracle, rows, oracle_speakers=True)
    assert oracle.counts == [2, 2]
    assert report.total.der == 0 and len(report.files) == 2
    summary = report.to_dict()
    assert set(summary) == {"der", "missed", "false_alarm", "confusion", "speech_s", "files"}
    evaluate(oracle, rows)
    assert oracle.counts[2:] == [None, None]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("path,label\nx.wav,bonafide\n", "needs the columns audio,rttm"),
        ("audio,rttm\n", "has no rows"),
        ("audio,rttm\nmissing.wav,one.rttm\n", "audio file not found"),
        ("audio,rttm\none.wav,\n", "rttm column is empty"),
        ("audio,rttm\none.wav,bad.rttm\n", "not valid RTTM"),
        ("audio,rttm\none.wav,two.rttm\n", "several recordings"),
        ("audio,rttm\none.wav,negative.rttm\n", "not positive"),
    ],
)
def test_bad_manifests_are_typed_errors(tmp_path: Path, content: str, message: str) -> None:
    _recording(tmp_path, "one", REFERENCE)
    (tmp_path / "bad.rttm").write_text("SPEAKER one 1 zero 1.0 <NA> <NA> A <NA> <NA>\n")
    (tmp_path / "two.rttm").write_text(
        "SPEAKER a 1 0.0 1.0 <NA> <NA> A <NA> <NA>\nSPEAKER b 1 0.0 1.0 <NA> <NA> B <NA> <NA>\n"
    )
    (tmp_path / "negative.rttm").write_text("SPEAKER one 1 2.0 -1.0 <NA> <NA> A <NA> <NA>\n")
    manifest = tmp_path / "m.csv"
    manifest.write_text(content)
    with pytest.raises(InvalidManifest, match=message):
        read_manifest(manifest)


def test_missing_manifest(tmp_path: Path) -> None:
    with pytest.raises(InvalidManifest, match="manifest not found"):
        read_manifest(tmp_path / "nothing.csv")
