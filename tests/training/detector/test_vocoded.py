"""Vocoded copies of the demo genuine clips: files, manifest, and the clips the cache reads."""

import csv
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from voxguard.training.detector import vocoded
from voxguard.training.detector.data import vocoded_clips
from voxguard.training.generators.base import Job


class _HalfLevelVocoder:
    """Stands in for HiFi-GAN (torch + weights): returns its source at half level, at 22.05 kHz
    like the real one."""

    def __init__(self, weights: str) -> None:
        self.name = f"hifigan-{weights.lower()}"
        self.license = "MIT (test)"

    def synthesize(self, job: Job) -> tuple[np.ndarray, int]:
        assert job.source is not None
        return np.repeat(0.5 * job.source.samples, 2)[: int(job.source.samples.size * 1.378)], 22050


def _clips(root: Path, header: list[str], rows: list[list[str]]) -> Path:
    """One second of tone at each row's path (its first column), and the manifest."""
    for path, *_ in rows:
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        sf.write(root / path, 0.2 * np.sin(np.arange(16000) / 5.0), 16000)
    with (root / "manifest.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return root


def _demos(root: Path) -> Path:
    rows = [
        ("a/real.wav", "bonafide", "human", "Org/a-page"),
        ("a/fake.wav", "spoof", "tts", "Org/a-page"),
        ("b/real.wav", "bonafide", "human", "Other/b-page"),
    ]
    header = ["path", "label", "system", "source_repo", "source_path", "license"]
    return _clips(
        root, header, [[p, lab, sys_, repo, p, "none stated"] for p, lab, sys_, repo in rows]
    )


def test_every_genuine_clip_gets_one_copy_per_weight_set_tied_to_its_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(vocoded, "HifiGan", _HalfLevelVocoder)
    demos, out = _demos(tmp_path / "demos"), tmp_path / "vocoded"
    vocoded.main(["--demos", str(demos), "--out", str(out), "--jobs", "1"])
    clips = vocoded_clips(out)
    assert len(clips) == 2 * len(vocoded.WEIGHTS)  # two genuine clips, the spoof is skipped
    assert {c.system for c in clips} == {"hifigan-universal", "hifigan-ljspeech"}
    assert {c.group for c in clips} == {"vocoded:demos:Org", "vocoded:demos:Other"}
    assert all(c.label == 1 and c.path.is_file() for c in clips)
    audio, rate = sf.read(clips[0].path)
    assert rate == 22050 and 0.05 < np.max(np.abs(audio)) < 0.15


def test_a_finished_set_is_not_rebuilt_and_a_missing_one_says_how_to_build_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(FileNotFoundError, match=r"voxguard\.training\.detector\.vocoded"):
        vocoded_clips(tmp_path)
    (tmp_path / "manifest.csv").write_text(",".join(vocoded.FIELDS) + "\n")
    monkeypatch.setattr(vocoded, "vocode", lambda *a: pytest.fail("rebuilt a finished set"))
    vocoded.main(["--demos", str(tmp_path / "none"), "--out", str(tmp_path)])
    with pytest.raises(SystemExit):
        vocoded.main(["--demos", str(tmp_path / "none"), "--out", str(tmp_path / "new")])


def _realworld(root: Path, per_source: int) -> Path:
    rows = [
        (f"{repo}/real{k}.wav", "bonafide", "", "human", repo)
        for repo in ("o/a", "o/b")
        for k in range(per_source)
    ]
    rows.append(("o/a/fake.wav", "spoof", "tts", "x", "o/a"))
    header = ["path", "label", "family", "system", "source_repo", "licence"]
    return _clips(root, header, [[*row, "none stated"] for row in rows])


def test_realworld_copies_take_at_most_n_genuine_clips_per_source_each_vocoded_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(vocoded, "HifiGan", _HalfLevelVocoder)
    root, out = _realworld(tmp_path / "rw", per_source=5), tmp_path / "vocoded"
    vocoded.main(
        [
            "--realworld",
            str(root),
            "--per-source",
            "3",
            "--seconds",
            "0.5",
            "--out",
            str(out),
            "--jobs",
            "1",
        ]
    )
    clips = vocoded_clips(out)
    rows = list(csv.DictReader((out / "manifest.csv").open()))
    assert len(clips) == 6  # 3 of the 5 genuine clips of each of the 2 sources, no spoof
    assert len({r["source_path"] for r in rows}) == 6  # each picked clip copied once
    assert {c.system for c in clips} == {"hifigan-universal", "hifigan-ljspeech"}
    assert (
        sorted(c.group for c in clips)
        == ["vocoded:realworld:o/a"] * 3 + ["vocoded:realworld:o/b"] * 3
    )
    audio, _ = sf.read(clips[0].path)
    assert audio.size == int(0.5 * 16000 * 1.378)  # only --seconds of the clip went in
    # The pick depends on the paths, not on the manifest's order.
    assert {r["source_path"] for r in rows} == {
        str(c.path.relative_to(root)) for c in vocoded.realworld_genuine(root, 3)
    }
