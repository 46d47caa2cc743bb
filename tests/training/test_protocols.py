from __future__ import annotations

import csv
from pathlib import Path

from voxguard.training.manifest import ManifestRow, write_manifest
from voxguard.training.protocols import protocols, write_protocols


def _row(generator: str, family: str, split: str, index: int, source: str = "") -> ManifestRow:
    genuine = family == "bonafide"
    return ManifestRow(
        path=f"{generator}/{index:05d}.wav",
        label="bonafide" if genuine else "spoof",
        generator=generator,
        family=family,
        voice="v",
        speaker=f"{generator}-{split}",
        text_id="t",
        augmentation="none",
        license="x",
        duration_s=3.0,
        split=split,
        source=source,
    )


ROWS = [
    _row(gen, fam, split, i, source)
    for i, split in enumerate(("train", "dev", "test"))
    for gen, fam, source in (
        ("librispeech", "bonafide", "librispeech/u"),
        ("piper", "neural_tts", ""),
        ("kokoro", "neural_tts", ""),
        ("hifigan-universal", "neural_vocoder", "librispeech/u"),
        ("world", "vocoder", "librispeech/u"),
        ("espeak-ng", "classical_tts", ""),
    )
]


def test_every_neural_generator_and_family_is_held_out() -> None:
    names = set(protocols(ROWS))
    assert {"in_domain", "logo/piper", "logo/kokoro", "logo/hifigan-universal"} <= names
    assert {f"logo/family-{f}" for f in ("neural_tts", "neural_vocoder", "vocoder")} <= names
    assert "logo/world" not in names  # not neural: held out only with its family


def test_held_out_generator_never_trains() -> None:
    for name, lists in protocols(ROWS).items():
        if not name.startswith("logo/"):
            continue
        test_spoofs = {r.generator for r in lists["test"] if r.label == "spoof"}
        seen = {r.generator for split in ("train", "dev") for r in lists[split]}
        assert test_spoofs and not test_spoofs & seen, name
        assert any(r.label == "bonafide" for r in lists["test"])


def test_held_out_generator_is_tested_in_full_against_genuine_test_speakers() -> None:
    lists = protocols(ROWS)
    for name in ("piper", "hifigan-universal"):
        test = lists[f"logo/{name}"]["test"]
        assert sorted(r.split for r in test if r.generator == name) == ["dev", "test", "train"]
        assert {r.split for r in test if r.label == "bonafide"} == {"test"}
        assert {r.generator for r in test if r.label == "spoof"} == {name}


def test_written_lists_point_at_the_clips(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    write_manifest(corpus / "manifest.csv", ROWS)
    out = corpus / "protocols"
    write_protocols(corpus / "manifest.csv", out)
    test_list = out / "logo" / "piper" / "test.csv"
    with test_list.open() as handle:
        rows = list(csv.DictReader(handle))
    assert rows and {"path", "label", "system"} <= set(rows[0])
    for row in rows:
        assert (test_list.parent / row["path"]).resolve() == (corpus / _strip(row)).resolve()
    assert (out / "index.json").is_file()


def _strip(row: dict[str, str]) -> str:
    return row["path"].replace("../", "")
