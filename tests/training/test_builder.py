from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from tests.training.conftest import CopyVocoder
from voxguard.training import builder as builder_module
from voxguard.training.builder import BuildConfig, CorpusBuilder, split_for
from voxguard.training.generators.bonafide import Bonafide
from voxguard.training.manifest import COLUMNS, read_manifest


def _build(monkeypatch: pytest.MonkeyPatch, out: Path, data: Path) -> None:
    monkeypatch.setattr(
        builder_module, "all_generators", lambda: [Bonafide("librispeech"), CopyVocoder()]
    )
    CorpusBuilder(BuildConfig(out=out, data_dir=data, seed=3, bonafide_limit=3)).build()


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*.wav"))
    }


def test_build_is_reproducible_and_labelled(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, tiny_data: Path
) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    _build(monkeypatch, first, tiny_data)
    _build(monkeypatch, second, tiny_data)

    assert (first / "manifest.csv").read_text() == (second / "manifest.csv").read_text()
    assert _digest(first) == _digest(second)

    rows = read_manifest(first / "manifest.csv")
    assert (first / "manifest.csv").read_text().splitlines()[0] == ",".join(COLUMNS)
    assert {r.label for r in rows} == {"bonafide", "spoof"}
    assert all((first / r.path).is_file() for r in rows)
    assert all(r.duration_s > 0.4 for r in rows)
    for row in rows:
        # Vocoded speech keeps the real speaker, and so that speaker's split.
        assert row.split == split_for(row.speaker)
    clean = [r for r in rows if r.augmentation == "none"]
    assert {r.generator for r in clean} == {"librispeech", "copy"}
    assert (first / "STATUS.md").is_file()


def test_interrupted_build_resumes(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, tiny_data: Path
) -> None:
    out = tmp_path / "corpus"
    _build(monkeypatch, out, tiny_data)
    full = (out / "manifest.csv").read_text()
    # Forget that "copy" finished and drop its last clip, as if the build had been killed.
    (out / "manifests" / "copy.done").unlink()
    part = out / "manifests" / "copy.csv"
    lines = part.read_text().splitlines(keepends=True)
    part.write_text("".join(line for line in lines if "copy/00002" not in line))
    _build(monkeypatch, out, tiny_data)
    assert sorted((out / "manifest.csv").read_text().splitlines()) == sorted(full.splitlines())


def test_tiny_espeak_build(tmp_path: Path, tiny_data: Path) -> None:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng not installed (scripts/setup-generators.sh installs it)")
    out = tmp_path / "corpus"
    config = BuildConfig(
        out=out, data_dir=tiny_data, generators=["espeak-ng"], per_generator=3, seed=0
    )
    reports = CorpusBuilder(config).build()
    assert reports[0].clips == 3
    rows = read_manifest(out / "manifest.csv")
    assert {r.generator for r in rows} == {"espeak-ng"}
    assert {r.family for r in rows} == {"classical_tts"}
    assert all(r.label == "spoof" and r.license for r in rows)


def test_unknown_generator_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown generators"):
        CorpusBuilder(BuildConfig(out=tmp_path, data_dir=tmp_path, generators=["nope"])).build()
