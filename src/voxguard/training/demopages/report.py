"""Counts and minutes per source, system, family, label and language, and every drop."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path

GROUPS = ("source_repo", "family", "label", "language", "system")


def summarise(rows: list[dict[str, str]], drops: list[dict[str, str]]) -> dict[str, object]:
    out: dict[str, object] = {
        "clips": len(rows),
        "minutes": round(sum(float(r["duration"]) for r in rows) / 60, 1),
        "sources": len({r["source_repo"] for r in rows}),
        "systems": len({(r["source_repo"], r["system"]) for r in rows if r["label"] == "spoof"}),
    }
    for group in GROUPS:
        table: dict[str, dict[str, float]] = defaultdict(
            lambda: {"clips": 0, "minutes": 0.0, "bonafide": 0, "spoof": 0}
        )
        for r in rows:
            entry = table[r[group]]
            entry["clips"] += 1
            entry["minutes"] += float(r["duration"]) / 60
            entry[r["label"]] += 1
        out[f"by_{group}"] = {
            k: {**v, "minutes": round(v["minutes"], 1)} for k, v in sorted(table.items())
        }
    stages = Counter(d["stage"] for d in drops)
    reasons = Counter(f"{d['stage']}: {_reason_kind(d['reason'])}" for d in drops)
    out["dropped_by_stage"] = dict(sorted(stages.items()))
    out["dropped_by_reason"] = dict(sorted(reasons.items()))
    guard: Counter[str] = Counter()
    for d in drops:
        if d["stage"] == "guard":
            guard[f"{d['source_repo']}: {_reason_kind(d['reason'])}"] += 1
    out["guard_drops"] = dict(sorted(guard.items()))
    return out


def _reason_kind(reason: str) -> str:
    """Group free-text reasons: 'copy of reserved audio (envelope 0.91)' -> without numbers."""
    head = reason.split(" (")[0]
    if head.startswith("segment "):
        head = head.split(": ", 1)[-1]
    for kind in ("same blob", "identical audio", "re-encoded copy"):
        if head.startswith(f"{kind} as "):
            head = f"{kind} as another clip"
    if head.startswith("undecodable"):
        head = "undecodable"
    return head


def render_markdown(summary: dict[str, object]) -> str:
    lines = [
        "# Real-world corpus report",
        "",
        f"{summary['clips']} clips, {summary['minutes']} minutes, {summary['sources']} "
        f"sources, {summary['systems']} (source, system) pairs of synthetic speech.",
        "",
    ]
    for group in ("label", "family", "language", "source_repo", "system"):
        table = summary[f"by_{group}"]
        assert isinstance(table, dict)
        lines += [f"## By {group}", "", f"| {group} | clips | minutes | bonafide | spoof |"]
        lines.append("| --- | ---: | ---: | ---: | ---: |")
        for key, v in table.items():
            lines.append(
                f"| {key} | {v['clips']} | {v['minutes']} | {v['bonafide']} | {v['spoof']} |"
            )
        lines.append("")
    for title, key in (
        ("Dropped, by stage", "dropped_by_stage"),
        ("Dropped, by reason", "dropped_by_reason"),
        ("Holdout guard drops, by source", "guard_drops"),
    ):
        table = summary[key]
        assert isinstance(table, dict)
        lines += [f"## {title}", "", "| what | clips |", "| --- | ---: |"]
        lines += [f"| {k} | {v} |" for k, v in table.items()] or ["| none | 0 |"]
        lines.append("")
    return "\n".join(lines)


def write_report(folder: Path, rows: list[dict[str, str]], drops: list[dict[str, str]]) -> None:
    summary = summarise(rows, drops)
    (folder / "report.json").write_text(json.dumps(summary, indent=1, sort_keys=True) + "\n")
    (folder / "report.md").write_text(render_markdown(summary))
