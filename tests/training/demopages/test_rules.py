"""Rule files: validation with clear messages, ordered matching, templates, and the bundled set."""

from __future__ import annotations

from pathlib import Path

import pytest

from voxguard.training.demopages.rules import (
    Labelled,
    RuleError,
    Skip,
    load_rule_file,
    load_rule_sets,
    parse_rules,
)

HEAD = {"repo": "lab/demo", "commit": "a" * 40, "licence": "none stated", "language": "en"}


def rules(
    *entries: dict[str, object], skips: tuple[dict[str, object], ...] = ()
) -> dict[str, object]:
    return {**HEAD, "rule": list(entries), "skip": list(skips)}


def test_first_matching_rule_wins_and_fills_its_templates() -> None:
    rule_set = parse_rules(
        rules(
            {"match": "^wav/(?P<set>[^/]+)/gt/", "label": "bonafide", "system": "recording",
             "utterance": "{set}/{stem}"},
            {"match": "^wav/(?P<set>[^/]+)/(?P<system>[^/]+)/", "label": "spoof",
             "system": "{system}", "family": "vocoder", "utterance": "{set}/{stem}"},
            skips=({"match": "/music/", "why": "music"},),
        ),
        "test",
    )  # fmt: skip
    assert rule_set.classify("wav/lj/gt/001.wav") == Labelled(
        "bonafide", "recording", "bonafide", "en", "lj/001"
    )
    assert rule_set.classify("wav/lj/hifigan/001.wav") == Labelled(
        "spoof", "hifigan", "vocoder", "en", "lj/001"
    )
    skipped = rule_set.classify("wav/music/gt/song.wav")
    assert isinstance(skipped, Skip) and skipped.why == "music"
    assert rule_set.classify("other/x.wav") is None


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"match": "x", "label": "fake", "system": "s"}, "label 'fake'; accepted: bonafide, spoof"),
        ({"match": "x", "label": "spoof", "system": "s", "family": "tts"}, "family 'tts'"),
        ({"match": "x", "label": "spoof", "system": "s", "family": "bonafide"}, "pairs label"),
        ({"match": "(", "label": "bonafide", "system": "s"}, "bad pattern '('"),
        ({"match": "x", "label": "bonafide"}, "needs a non-empty string 'system'"),
    ],
)
def test_bad_rules_are_refused_naming_the_file_the_rule_and_what_is_accepted(
    entry: dict[str, object], message: str
) -> None:
    with pytest.raises(RuleError, match=r"lab\+demo.toml: rule 1") as err:
        parse_rules(rules(entry), "lab+demo.toml")
    assert message in str(err.value)


def test_a_rule_file_must_be_named_after_its_repository(tmp_path: Path) -> None:
    path = tmp_path / "other+name.toml"
    path.write_text(
        'repo = "lab/demo"\ncommit = "c"\nlicence = "l"\nlanguage = "en"\n'
        '[[rule]]\nmatch = "x"\nlabel = "bonafide"\nsystem = "recording"\n'
    )
    with pytest.raises(RuleError, match=r"name it lab\+demo.toml"):
        load_rule_file(path)


def test_the_bundled_rule_files_load_and_cover_at_least_60_sources() -> None:
    rule_sets = load_rule_sets()
    assert len(rule_sets) >= 60
    assert len({s.repo.lower() for s in rule_sets}) == len(rule_sets)
    for rule_set in rule_sets:
        assert len(rule_set.commit) == 40, rule_set.repo
        assert rule_set.pages, f"{rule_set.repo} names no page file"
