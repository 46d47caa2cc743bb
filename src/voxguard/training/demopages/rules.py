"""Per-repository labelling rules, kept as TOML data files next to this module.

A rule file names the repository, its commit, the page files the rules were written from,
the licence and a default language, then:

- ``[[skip]]``: paths to leave out, each with ``why`` (unclear label, singing, music,
  enhanced "originals", adversarial audio ...). Skips are checked first.
- ``[[rule]]``: ordered; the first whose ``match`` (a Python regular expression searched in
  the file's path) hits labels the clip. ``label`` is ``bonafide`` or ``spoof``; ``system``,
  ``language`` and ``utterance`` are templates that may use the pattern's named groups and
  ``{stem}`` (file name without suffix), ``{name}`` (file name), ``{parent}`` (folder name).

An audio file that no skip and no rule matches is *unmatched*: it is reported and left out,
so a rule set must account for every audio file of its repository.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Literal

Label = Literal["bonafide", "spoof"]

#: Families of the leave-one-family-out protocol; genuine clips are ``bonafide``.
FAMILIES: dict[str, str] = {
    "bonafide": "genuine recordings, including classic telephone and media codecs",
    "vocoder": "neural or signal vocoders re-synthesising real speech or acoustic features "
    "(GAN, diffusion, flow, autoregressive, source-filter, WORLD, LPCNet)",
    "codec": "neural-codec resynthesis (EnCodec, DAC, SpeechTokenizer, Mimi and the like)",
    "zero_shot_tts": "zero-shot TTS from a voice prompt (codec language models, diffusion, flow)",
    "neural_tts": "classic neural TTS for trained voices (Tacotron, FastSpeech, VITS class, "
    "neural HMM, speech-to-speech translation output)",
    "voice_conversion": "voice conversion, accent or emotion conversion of a real utterance",
    "speech_lm": "speech language models generating speech (GSLM, spoken continuations)",
}
SPOOF_FAMILIES = tuple(f for f in FAMILIES if f != "bonafide")
AUDIO_SUFFIXES = (".wav", ".flac", ".mp3", ".ogg", ".oga", ".opus", ".webm", ".m4a", ".mp4", ".aac")
RULES_DIR = "rules"
_TEMPLATE_FIELD = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


class RuleError(ValueError):
    """A rule file is malformed: names the file and what is wrong."""


@dataclass(frozen=True)
class Labelled:
    """What the rules say of one audio path (in a rule: templates, filled per path)."""

    label: Label
    system: str
    family: str
    language: str
    utterance: str


@dataclass(frozen=True)
class Rule:
    match: re.Pattern[str]
    says: Labelled


@dataclass(frozen=True)
class Skip:
    match: re.Pattern[str]
    why: str


@dataclass(frozen=True)
class RuleSet:
    repo: str
    commit: str
    licence: str
    pages: tuple[str, ...]
    rules: tuple[Rule, ...]
    skips: tuple[Skip, ...]
    notes: str = ""
    text: str = ""  # the rule file's content: a changed file invalidates its extraction

    def classify(self, path: str) -> Labelled | Skip | None:
        """The first skip or rule that matches ``path``; ``None`` when nothing does."""
        for skip in self.skips:
            if skip.match.search(path):
                return skip
        for rule in self.rules:
            found = rule.match.search(path)
            if found:
                fields = _path_fields(path) | {
                    k: v for k, v in found.groupdict().items() if v is not None
                }
                return replace(
                    rule.says,
                    system=_fill(rule.says.system, fields, path),
                    language=_fill(rule.says.language, fields, path),
                    utterance=_fill(rule.says.utterance, fields, path),
                )
        return None


def is_audio(path: str) -> bool:
    return path.lower().endswith(AUDIO_SUFFIXES)


def file_name(repo: str) -> str:
    """``owner/name`` -> ``owner+name.toml`` (the rule file's name)."""
    return repo.replace("/", "+") + ".toml"


def load_rule_file(path: Path) -> RuleSet:
    text = path.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RuleError(f"{path.name}: not valid TOML ({exc})") from exc
    return replace(parse_rules(data, path.name), text=text)


def parse_rules(data: dict[str, object], where: str) -> RuleSet:
    """Validate one rule file's content; every problem names the file and the entry."""
    for key in ("repo", "commit", "licence", "language"):
        if not isinstance(data.get(key), str) or not data[key]:
            raise RuleError(f"{where}: needs a non-empty string '{key}'")
    repo, language = str(data["repo"]), str(data["language"])
    if where.endswith(".toml") and where != file_name(repo):
        raise RuleError(f"{where}: holds rules for {repo}; name it {file_name(repo)}")
    pages = data.get("pages", [])
    if not isinstance(pages, list) or not all(isinstance(p, str) for p in pages):
        raise RuleError(f"{where}: 'pages' must be a list of page file paths")
    skips = tuple(
        Skip(_pattern(entry, where, f"skip {i + 1}"), _text(entry, "why", where, f"skip {i + 1}"))
        for i, entry in enumerate(_tables(data, "skip", where))
    )
    rules = []
    for i, entry in enumerate(_tables(data, "rule", where)):
        at = f"rule {i + 1}"
        label = _text(entry, "label", where, at)
        if label not in ("bonafide", "spoof"):
            raise RuleError(f"{where}: {at} has label {label!r}; accepted: bonafide, spoof")
        family = str(entry.get("family", "bonafide" if label == "bonafide" else ""))
        if family not in FAMILIES:
            raise RuleError(f"{where}: {at} has family {family!r}; accepted: {', '.join(FAMILIES)}")
        if (label == "bonafide") != (family == "bonafide"):
            raise RuleError(f"{where}: {at} pairs label {label} with family {family}")
        rules.append(
            Rule(
                match=_pattern(entry, where, at),
                says=Labelled(
                    label="bonafide" if label == "bonafide" else "spoof",
                    system=_text(entry, "system", where, at),
                    family=family,
                    language=str(entry.get("language", language)),
                    utterance=str(entry.get("utterance", "")),
                ),
            )
        )
    if not rules:
        raise RuleError(f"{where}: has no [[rule]] entries")
    return RuleSet(
        repo=repo,
        commit=str(data["commit"]),
        licence=str(data["licence"]),
        pages=tuple(pages),
        rules=tuple(rules),
        skips=skips,
        notes=str(data.get("notes", "")),
    )


def bundled_rule_files() -> list[Path]:
    folder = resources.files("voxguard.training.demopages").joinpath(RULES_DIR)
    return sorted(Path(str(folder)).glob("*.toml"))


def load_rule_sets(folder: Path | None = None, repos: list[str] | None = None) -> list[RuleSet]:
    """Every rule set in ``folder`` (default: the bundled ones), sorted by repository."""
    files = sorted(folder.glob("*.toml")) if folder else bundled_rule_files()
    sets = [load_rule_file(f) for f in files]
    if repos:
        wanted = {r.lower() for r in repos}
        unknown = wanted - {s.repo.lower() for s in sets}
        if unknown:
            raise RuleError(f"no rule file for {', '.join(sorted(unknown))}")
        sets = [s for s in sets if s.repo.lower() in wanted]
    return sorted(sets, key=lambda s: s.repo.lower())


def _tables(data: dict[str, object], key: str, where: str) -> list[dict[str, object]]:
    entries = data.get(key, [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise RuleError(f"{where}: '{key}' must be an array of tables ([[{key}]])")
    return entries


def _text(entry: dict[str, object], key: str, where: str, at: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value:
        raise RuleError(f"{where}: {at} needs a non-empty string '{key}'")
    return value


def _pattern(entry: dict[str, object], where: str, at: str) -> re.Pattern[str]:
    text = _text(entry, "match", where, at)
    try:
        return re.compile(text)
    except re.error as exc:
        raise RuleError(f"{where}: {at} has a bad pattern {text!r} ({exc})") from exc


def _path_fields(path: str) -> dict[str, str]:
    p = PurePosixPath(path)
    return {"stem": p.stem, "name": p.name, "parent": p.parent.name}


def _fill(template: str, fields: dict[str, str], path: str) -> str:
    missing = [f for f in _TEMPLATE_FIELD.findall(template) if f not in fields]
    if missing:
        raise RuleError(f"template {template!r} for {path} uses unknown fields {missing}")
    return template.format(**fields)
