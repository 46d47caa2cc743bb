"""Dry-run a rule set against its repository: what each audio file would become, no decoding."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from voxguard.training.demopages.gitsource import find_git_dir, list_audio, page_text
from voxguard.training.demopages.rules import Labelled, RuleSet, Skip


@dataclass
class RuleCheck:
    repo: str
    audio_files: int = 0
    labelled: Counter[tuple[str, str, str, str]] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    unmatched: list[str] = field(default_factory=list)
    referenced: int = 0
    assignments: list[tuple[str, str]] = field(default_factory=list)

    def render(self, show_paths: bool = False, max_unmatched: int = 40) -> str:
        lines = [f"== {self.repo}: {self.audio_files} audio files"]
        lines.append(
            f"   referenced by a page file (by path or file name): {self.referenced}"
            f"/{self.audio_files}"
        )
        for (label, family, system, language), n in sorted(self.labelled.items()):
            lines.append(f"   {n:5d}  {label:8s} {family:16s} {language:5s} {system}")
        for why, n in sorted(self.skipped.items()):
            lines.append(f"   {n:5d}  skipped: {why}")
        if self.unmatched:
            lines.append(f"   {len(self.unmatched):5d}  UNMATCHED (left out):")
            lines += [f"          {p}" for p in self.unmatched[:max_unmatched]]
        if show_paths:
            lines += [f"   {path}  ->  {what}" for path, what in self.assignments]
        return "\n".join(lines)


def check_rules(rule_set: RuleSet, sources: Path) -> RuleCheck:
    git_dir = find_git_dir(sources, rule_set.repo)
    entries = list_audio(git_dir, rule_set.commit)
    pages = page_text(git_dir, rule_set.commit, rule_set.pages)
    result = RuleCheck(repo=rule_set.repo, audio_files=len(entries))
    for entry in entries:
        name = entry.path.rsplit("/", 1)[-1]
        result.referenced += entry.path in pages or name in pages
        what = rule_set.classify(entry.path)
        if isinstance(what, Skip):
            result.skipped[what.why] += 1
            result.assignments.append((entry.path, f"skip ({what.why})"))
        elif isinstance(what, Labelled):
            result.labelled[(what.label, what.family, what.system, what.language)] += 1
            result.assignments.append(
                (
                    entry.path,
                    f"{what.label} {what.family} {what.system} {what.language} "
                    f"utt={what.utterance or '-'}",
                )
            )
        else:
            result.unmatched.append(entry.path)
            result.assignments.append((entry.path, "UNMATCHED"))
    return result
