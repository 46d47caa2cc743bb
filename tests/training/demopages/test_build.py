"""The corpus builder on a tiny world it makes itself: two demo-page repositories in git, a
reserved one, rule files, and a guard that reserves a repository, a blob and a recording."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import soundfile as sf

from tests.training.demopages.conftest import (
    Repo,
    blob_id,
    make_guard,
    make_repo,
    resampled,
    speech,
    syllables,
    voice,
    wav,
    write_rules,
)
from voxguard.audio import load_audio
from voxguard.training.demopages.build import BuildOptions, build_corpus
from voxguard.training.demopages.check import check_rules
from voxguard.training.demopages.dedupe import envelope, lagged_corr, waveform_corr
from voxguard.training.demopages.extract import ReservedRepository
from voxguard.training.demopages.rules import load_rule_sets

PAGE = b"<table><tr><th>Ground truth</th><th>HiFi-GAN</th></tr></table>"
RULES_A = """
[[skip]]
match = '^audio/music/'
why = "music, not speech"

[[rule]]
match = '^audio/(gt|gt_again|long|reserved|blocked)/'
label = "bonafide"
system = "recording"
utterance = "{stem}"

[[rule]]
match = '^audio/(?P<system>hifigan)/'
label = "spoof"
system = "{system}"
family = "vocoder"
utterance = "{stem}"
"""
RULES_B = """
[[rule]]
match = '^ref/'
label = "bonafide"
system = "recording"

[[rule]]
match = '^tts/'
label = "spoof"
system = "fastspeech2"
family = "neural_tts"
language = "de"
"""


class World:
    def __init__(self, root: Path) -> None:
        self.sources = root / "sources"
        self.rules = root / "rules"
        u1_env = syllables(3.0, seed=1)
        self.u1 = voice(u1_env, seed=1)
        self.u1_vocoded = voice(u1_env, seed=99)  # same words and loudness, new phase
        u2 = speech(2.5, seed=2)
        reserved = speech(3.0, seed=3)
        blocked = wav(speech(2.0, seed=4))
        self.blocked_blob = blob_id(blocked)
        self.a = make_repo(
            self.sources,
            "lab/demo-a",
            {
                "index.html": PAGE,
                "audio/gt/u1.wav": wav(self.u1),
                "audio/gt/u2.wav": wav(u2),
                "audio/gt_again/u2.wav": wav(u2),  # the same bytes: the same blob
                "audio/hifigan/u1.wav": wav(self.u1_vocoded),
                "audio/long/talk.wav": wav(speech(45.0, seed=5)),
                "audio/music/song.wav": wav(speech(2.0, seed=6)),
                "audio/misc/x.wav": wav(speech(2.0, seed=7)),
                "audio/reserved/r.wav": wav(resampled(reserved, 22050), 22050),
                "audio/blocked/b.wav": blocked,
            },
        )
        self.b = make_repo(
            self.sources,
            "lab/demo-b",
            {
                "index.html": PAGE,
                # page B re-hosts page A's recording, resampled to 24 kHz, quieter and through
                # a channel that alters its phase (waveform correlation about 0.85)
                "ref/u1_copy.wav": wav(
                    resampled(0.5 * self.u1 + 0.3 * self.u1_vocoded, 24000), 24000
                ),
                "tts/t1.wav": wav(speech(2.2, seed=8)),
            },
        )
        write_rules(self.rules, self.a, RULES_A)
        write_rules(self.rules, self.b, RULES_B, licence="CC0-1.0")
        self.guard = make_guard(root / "guard", ["Evil/Reserved"], [self.blocked_blob], [reserved])
        self.out = root / "corpus"

    def build(self, jobs: int = 1) -> list[dict[str, str]]:
        options = BuildOptions(self.sources, self.out, None, self.guard, jobs)
        build_corpus(load_rule_sets(self.rules), options)
        return read(self.out / "manifest.csv")


def read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path)


def test_check_reports_every_label_skip_and_unmatched_file(world: World) -> None:
    result = check_rules(load_rule_sets(world.rules, ["lab/demo-a"])[0], world.sources)
    assert result.audio_files == 9
    assert result.unmatched == ["audio/misc/x.wav"]
    assert result.skipped == {"music, not speech": 1}
    assert result.labelled[("spoof", "vocoder", "hifigan", "en")] == 1
    assert result.referenced == 0  # the fixture page links no file


def test_build_labels_guards_segments_and_deduplicates(world: World) -> None:
    rows = world.build()
    by_source = {(r["source_repo"], r["source_path"], r["segment"]): r for r in rows}
    gt = by_source[("lab/demo-a", "audio/gt/u1.wav", "-1")]
    assert gt["label"] == "bonafide" and gt["utterance"] == "u1" and gt["licence"] == "none stated"
    assert gt["commit"] == world.a.commit and gt["blob"] == blob_id(wav(world.u1))
    vocoded = by_source[("lab/demo-a", "audio/hifigan/u1.wav", "-1")]
    assert (vocoded["label"], vocoded["family"], vocoded["system"]) == (
        "spoof",
        "vocoder",
        "hifigan",
    )
    tts = by_source[("lab/demo-b", "tts/t1.wav", "-1")]
    assert (tts["language"], tts["licence"]) == ("de", "CC0-1.0")

    # a 45 s file is cut into clips of 4-10 s that tile it
    parts = sorted(
        (r for r in rows if r["source_path"] == "audio/long/talk.wav"), key=lambda r: r["segment"]
    )
    assert len(parts) >= 4 and all(2.0 <= float(p["duration"]) <= 12.5 for p in parts)
    assert abs(sum(float(p["duration"]) for p in parts) - 45.0) < 0.01

    # every file is a 16 kHz mono FLAC under the corpus folder
    info = sf.info(str(world.out / vocoded["path"]))
    assert (info.samplerate, info.channels, info.format) == (16000, 1, "FLAC")

    drops = {(d["source_path"], d["stage"]): d["reason"] for d in read(world.out / "dropped.csv")}
    assert drops[("audio/music/song.wav", "rules")] == "skipped: music, not speech"
    assert drops[("audio/misc/x.wav", "rules")].startswith("unmatched")
    assert drops[("audio/gt_again/u2.wav", "duplicate")] == "same blob as audio/gt/u2.wav"
    assert drops[("audio/blocked/b.wav", "guard")] == "reserved audio (same bytes)"
    assert drops[("audio/reserved/r.wav", "guard")].startswith("copy of reserved audio")
    # page B's re-encoded copy of page A's recording goes; page A's vocoded copy stays
    assert drops[("ref/u1_copy.wav", "duplicate")].startswith("re-encoded copy as clips/lab+demo-a")
    kept = {r["source_path"] for r in rows}
    assert "ref/u1_copy.wav" not in kept and "audio/hifigan/u1.wav" in kept

    report = (world.out / "report.md").read_text()
    assert "| lab/demo-a |" in report and "| vocoder |" in report
    assert "guard: copy of reserved audio" in report


def test_build_is_deterministic_and_resumes_one_repository(world: World) -> None:
    first = world.build()
    flac = world.out / first[0]["path"]
    first_bytes = flac.read_bytes()
    done_b = world.out / "sources" / "lab+demo-b" / "DONE"
    stamp_b = done_b.stat().st_mtime_ns
    # an interrupted extraction of A leaves no DONE: only A is redone
    (world.out / "sources" / "lab+demo-a" / "DONE").unlink()
    (world.out / "manifest.csv").unlink()
    again = world.build(jobs=2)
    assert again == first
    assert flac.read_bytes() == first_bytes
    assert done_b.stat().st_mtime_ns == stamp_b


def test_an_edited_rule_file_reextracts_its_repository(world: World) -> None:
    world.build()
    write_rules(world.rules, world.b, RULES_B.replace('language = "de"', 'language = "fr"'))
    rows = world.build()
    assert {r["language"] for r in rows if r["system"] == "fastspeech2"} == {"fr"}


def test_a_reserved_repository_is_refused_before_anything_is_read(world: World) -> None:
    evil = Repo("evil/reserved", world.sources / "missing", "0" * 40)
    write_rules(world.rules, evil, RULES_B)
    with pytest.raises(ReservedRepository, match="evil/reserved is reserved"):
        world.build()
    assert not world.out.exists()


def test_vocoded_copies_share_the_envelope_but_not_the_waveform(world: World) -> None:
    copy = load_audio(wav(0.6 * resampled(world.u1, 24000), 24000)).samples  # as decoded
    assert lagged_corr(envelope(world.u1), envelope(world.u1_vocoded)) > 0.85
    assert waveform_corr(world.u1, world.u1_vocoded) < 0.5
    assert waveform_corr(world.u1, copy) > 0.9
