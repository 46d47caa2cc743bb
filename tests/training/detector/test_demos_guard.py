"""The demos reach training only through the holdout guard."""

from __future__ import annotations

from pathlib import Path

from tests.training.demopages.conftest import make_guard, speech, wav
from voxguard.training.detector.data import guard_flagged, guard_flagged_files


def test_demo_clips_that_copy_reserved_audio_are_flagged(tmp_path: Path) -> None:
    reserved, other = speech(3.0, seed=11), speech(3.0, seed=12)
    demos = tmp_path / "demos"
    demos.mkdir()
    (demos / "a.wav").write_bytes(wav(0.5 * reserved))  # a quieter copy of reserved audio
    (demos / "b.wav").write_bytes(wav(other))
    (demos / "c.wav").write_bytes(wav(other))
    (demos / "manifest.csv").write_text(
        "path,label,system,source_repo,source_path,license\n"
        "a.wav,spoof,x,lab/a,a.wav,none\n"
        "b.wav,bonafide,human,lab/b,b.wav,none\n"
        "c.wav,bonafide,human,evil/reserved,c.wav,none\n"
    )
    guard = make_guard(tmp_path / "guard", ["evil/reserved"], [], [reserved])
    assert guard_flagged(demos, guard) == {"a.wav", "c.wav"}


def test_genuine_files_that_copy_reserved_audio_are_flagged(tmp_path: Path) -> None:
    reserved = speech(3.0, seed=13)
    folder = tmp_path / "libri"
    folder.mkdir()
    (folder / "1-2-3.flac").write_bytes(wav(reserved))  # content sniffed, not the suffix
    (folder / "4-5-6.flac").write_bytes(wav(speech(3.0, seed=14)))
    guard = make_guard(tmp_path / "guard", [], [], [reserved])
    assert guard_flagged_files(folder, "*.flac", guard) == {"1-2-3.flac"}
