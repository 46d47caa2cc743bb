"""The conversation composer: timelines on stand-in voices, the set from the shared readers."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import shared_data
from voxguard.audio import TARGET_SAMPLE_RATE
from voxguard.diarization import parse_rttm
from voxguard.evaluation.conversations import ComposeParams, SetOptions, build_set, compose
from voxguard.evaluation.conversations.timeline import coverage
from voxguard.evaluation.conversations.voices import PiperVoice, Voice

RATE = TARGET_SAMPLE_RATE


def noise_voice(label: str, seed: int, units: int = 8) -> Voice:
    """Units of noise (never exactly zero) between digital silence: a voice whose speech is
    known to the sample, so the reference can be checked against what was mixed."""
    rng = np.random.default_rng(seed)
    spans, start = [], 0.3
    for _ in range(units):
        length = float(rng.uniform(0.6, 3.0))
        spans.append((round(start, 4), round(start + length, 4)))
        start += length + float(rng.uniform(0.15, 0.6))
    samples = np.zeros(round((start + 0.3) * RATE), dtype=np.float32)
    for a, b in spans:
        piece = rng.uniform(0.05, 0.3, round(b * RATE) - round(a * RATE))
        samples[round(a * RATE) : round(b * RATE)] = piece * rng.choice([-1, 1], piece.size)
    return Voice(label, f"noise {seed}", samples, tuple(spans))


VOICES = [noise_voice(f"v{i}", i) for i in range(4)]
EXACT = ComposeParams(merge_gap_s=0.0)  # the reference is then each turn's units exactly


@pytest.mark.parametrize("count", [2, 3, 4])
def test_timeline_meets_the_bands(count: int) -> None:
    conversation = compose("c", VOICES[:count], [7, count])
    assert 60 <= conversation.duration_s <= 120
    assert 0.10 <= conversation.overlap_share <= 0.20
    assert {t.speaker for t in conversation.reference} == {v.label for v in VOICES[:count]}
    for turn in conversation.turns:
        span = turn.speech[-1][1] - turn.speech[0][0]
        assert 1.5 - 1e-6 <= span <= 8.0 + 1e-6
    # consecutive turns change speaker; a gap between them is a 0.2-1.5 s pause
    for before, after in zip(conversation.turns, conversation.turns[1:], strict=False):
        assert before.speaker != after.speaker
        gap = after.speech[0][0] - before.speech[-1][1]
        assert gap < 0 or 0.2 - 1e-6 <= gap <= 1.5 + 1e-6


def test_same_seed_same_conversation_other_seed_another() -> None:
    first, again = compose("c", VOICES[:3], [1]), compose("c", VOICES[:3], [1])
    assert first.reference == again.reference and first.gains_db == again.gains_db
    assert np.array_equal(first.render(), again.render())
    assert compose("c", VOICES[:3], [2]).reference != first.reference


def test_reference_is_what_was_mixed() -> None:
    conversation = compose("c", VOICES[:3], [3], EXACT)
    tracks = {v.label: conversation.render(only=v.label) for v in VOICES[:3]}
    for label, track in tracks.items():
        mask = np.zeros(track.size, dtype=bool)
        turns = [t for t in conversation.reference if t.speaker == label]
        for turn in turns:
            mask[round(turn.start_s * RATE) : round(turn.end_s * RATE)] = True
        sounding = track != 0
        # every sample of the speaker's track is inside its reference turns, and the turns
        # are filled (to within rounding of the turn boundaries to milliseconds)
        assert np.count_nonzero(sounding & ~mask) <= 16 * len(turns)
        assert np.count_nonzero(mask & ~sounding) <= 16 * len(turns)
        assert sum(t.duration_s for t in turns) == pytest.approx(
            np.count_nonzero(sounding) / RATE, abs=0.002 * len(turns)
        )
    # the overlap share measured on the tracks is the stored one
    active = sum((track != 0).astype(int) for track in tracks.values())
    measured = np.count_nonzero(active >= 2) / np.count_nonzero(active >= 1)
    assert measured == pytest.approx(conversation.overlap_share, abs=0.002)
    # a turn is marked overlapped exactly when it shares time with another speaker's
    for turn in conversation.reference:
        shared = any(
            o.speaker != turn.speaker and o.start_s < turn.end_s and turn.start_s < o.end_s
            for o in conversation.reference
        )
        assert turn.overlap == shared


def test_levels_differ_within_6_db() -> None:
    conversation = compose("c", VOICES, [5])
    gains = list(conversation.gains_db.values())
    assert all(-6 <= g <= 6 for g in gains) and len(set(gains)) == len(gains)


def test_coverage() -> None:
    assert coverage([(0.0, 4.0), (3.0, 5.0), (6.0, 7.0)]) == (6.0, 1.0)


# --- the set from the shared LibriSpeech readers ----------------------------------------------


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_set_layout_and_references(conversation_set: Path) -> None:
    summary = json.loads((conversation_set / "summary.json").read_text())
    expected = {"clean", "phone", "babble"} | (
        {"tts"} if "tts" not in summary["skipped"] else set()
    )
    assert set(summary["conditions"]) == expected
    for condition in expected:
        rows = _rows(conversation_set / condition / "manifest.csv")
        assert list(rows[0])[:2] == ["audio", "rttm"] and len(rows) == 1
        row = rows[0]
        turns = parse_rttm((conversation_set / condition / row["rttm"]).read_text())
        (uri,) = turns
        assert uri == Path(row["audio"]).stem
        assert len({t.speaker for t in turns[uri]}) == int(row["speakers"])
        assert 0.10 <= float(row["overlap_share"]) <= 0.20
        assert 60 <= float(row["duration_s"]) <= 120
        stats = summary["conditions"][condition]
        assert stats["conversations"] == 1 and stats["overlap_share"] == pytest.approx(
            float(row["overlap_share"]), abs=1e-4
        )
    # the mixed conditions share one conversation and its reference
    rttms = {(conversation_set / c / "conv000.rttm").read_text() for c in ("clean", "phone")}
    assert len(rttms) == 1
    assert summary["guard"]["clips_checked"] > 0 and summary["guard"]["dropped"] == {}


def test_tts_labels(conversation_set: Path) -> None:
    if not (conversation_set / "tts").is_dir():
        pytest.skip("espeak-ng not installed")
    labels = _rows(conversation_set / "tts" / "labels.csv")
    assert sorted(r["synthetic"] for r in labels) == ["0", "1"]
    rttm = (conversation_set / "tts" / "tts000.rttm").read_text()
    assert {r["speaker"] for r in labels} == {line.split()[7] for line in rttm.splitlines()}


def test_set_is_deterministic(conversation_set: Path, tmp_path: Path) -> None:
    options = SetOptions(
        out=tmp_path, per_condition=1, conditions=("phone",), librispeech=shared_data("librispeech")
    )
    build_set(options)
    for name in ("conv000.wav", "conv000.rttm"):
        assert (tmp_path / "phone" / name).read_bytes() == (
            conversation_set / "phone" / name
        ).read_bytes()


def test_guard_drops_are_never_used(conversation_set: Path, tmp_path: Path) -> None:
    """A guard that flags the first reader of conv000: the set is built without it."""
    first = next(
        r["file"]
        for r in _rows(conversation_set / "speakers.csv")
        if r["role"].startswith("conversation")
    )
    from voxguard.audio import load_audio

    length = load_audio(shared_data("librispeech", first)).samples.size
    guard = tmp_path / "guard"
    guard.mkdir()
    (guard / "guard.py").write_text(
        "class Guard:\n"
        "    def __init__(self, folder):\n        pass\n"
        "    def repo_reserved(self, repo):\n        return False\n"
        "    def reason(self, repo=None, blob=None, audio=None):\n"
        f"        return 'reserved (test)' if len(audio) == {length} else None\n"
    )
    out = tmp_path / "set"
    options = SetOptions(
        out=out,
        per_condition=1,
        conditions=("clean",),
        librispeech=shared_data("librispeech"),
        guard_dir=guard,
    )
    summary = build_set(options)
    assert summary["guard"]["dropped"] == {first: "reserved (test)"}
    label = "ls" + first.split("-")[0]
    assert label not in (out / "clean" / "conv000.rttm").read_text()
    assert label not in {r["speaker"] for r in _rows(out / "speakers.csv")}


def _fake_piper(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A stand-in for the piper command: it writes a piece of a LibriSpeech reading as its
    "speech" and logs its arguments and the text it was given."""
    from voxguard.audio import load_audio
    from voxguard.audio.wav import write_wav

    reading = load_audio(sorted(shared_data("librispeech").glob("*.flac"))[-1]).samples
    speech = tmp_path / "speech.wav"
    write_wav(speech, reading[: 3 * RATE], RATE)
    log = tmp_path / "calls.log"
    command = tmp_path / "piper"
    command.write_text(
        f"#!{sys.executable}\n"
        "import shutil, sys\n"
        "args = sys.argv[1:]\n"
        f"with open({str(log)!r}, 'a') as log:\n"
        "    log.write(' '.join(args) + ' | ' + sys.stdin.read().strip() + '\\n')\n"
        f"shutil.copy({str(speech)!r}, args[args.index('--output_file') + 1])\n"
    )
    command.chmod(0o755)
    model = tmp_path / "en_US-test-medium.onnx"
    model.write_bytes(b"not read by the stand-in")
    return command, model, log


def test_the_tts_voice_can_be_a_piper_voice(tmp_path: Path) -> None:
    command, model, log = _fake_piper(tmp_path)
    out = tmp_path / "set"
    options = SetOptions(
        out=out,
        per_condition=1,
        conditions=("tts",),
        librispeech=shared_data("librispeech"),
        piper=PiperVoice(command, model),
    )
    summary = build_set(options)
    assert set(summary["conditions"]) == {"tts"}
    labels = _rows(out / "tts" / "labels.csv")
    (synthetic,) = [r for r in labels if r["synthetic"] == "1"]
    assert synthetic["speaker"] == "tts-piper-en_US-test-medium"
    assert synthetic["source"].startswith("piper en_US-test-medium length ")
    rttm = (out / "tts" / "tts000.rttm").read_text()
    assert synthetic["speaker"] in {line.split()[7] for line in rttm.splitlines()}
    calls = log.read_text().splitlines()
    assert calls and all(f"--model {model}" in c and "--length-scale" in c for c in calls)
    assert all(c.split(" | ")[1] for c in calls)  # every call was given a sentence


def test_a_missing_piper_voice_is_named(tmp_path: Path) -> None:
    command, _, _ = _fake_piper(tmp_path)
    missing = tmp_path / "nowhere.onnx"
    options = SetOptions(
        out=tmp_path / "set",
        per_condition=1,
        conditions=("tts",),
        librispeech=shared_data("librispeech"),
        piper=PiperVoice(command, missing),
    )
    with pytest.raises(FileNotFoundError, match=r"Piper voice not found: .*nowhere\.onnx"):
        build_set(options)
    from voxguard.evaluation.conversations.__main__ import main

    args = ["--out", str(tmp_path / "x"), "--conditions", "tts", "--piper", str(command)]
    assert main([*args, "--piper-voice", str(missing)]) == 2  # the error above, as exit 2
    with pytest.raises(SystemExit) as exit_info:  # a voice without the command, or vice versa
        main(args)
    assert exit_info.value.code == 2
