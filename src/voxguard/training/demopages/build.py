"""The whole build: extract every repository (resumable), guard the demos, deduplicate across
all sources, write ``manifest.csv``, ``dropped.csv``, ``copies.csv`` and the report."""

from __future__ import annotations

import json
import logging
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from voxguard.audio.types import FloatArray
from voxguard.training.demopages.dedupe import ClipRef, envelope, find_copies
from voxguard.training.demopages.extract import (
    CANDIDATE_COLUMNS,
    DROP_COLUMNS,
    ReservedRepository,
    extract_repository,
    is_done,
    load_envelopes,
    pcm_sha1,
    read_rows,
    repo_folder,
    to_pcm16,
    write_rows,
)
from voxguard.training.demopages.guarding import DEFAULT_GUARD_DIR, HoldoutGuard
from voxguard.training.demopages.report import write_report
from voxguard.training.demopages.rules import RuleSet

log = logging.getLogger(__name__)

MANIFEST_COLUMNS = (
    "path", "label", "system", "family", "language", "source_repo", "commit", "source_path",
    "blob", "duration", "licence", "utterance", "segment", "source_format",
    "source_sample_rate",
)  # fmt: skip
DEMOS_KEY = "demos/"


@dataclass(frozen=True)
class BuildOptions:
    sources: Path
    out: Path
    demos: Path | None
    guard_dir: Path = DEFAULT_GUARD_DIR
    jobs: int = 1


def build_corpus(rule_sets: list[RuleSet], options: BuildOptions) -> dict[str, int]:
    """Build (or resume) the corpus in ``options.out``; returns headline counts."""
    guard = HoldoutGuard(options.guard_dir)
    reserved = [s.repo for s in rule_sets if guard.repo_reserved(s.repo)]
    if reserved:
        raise ReservedRepository(
            f"Refusing to build: {', '.join(reserved)} is reserved for VoxGuard's hidden "
            "evaluation and must never be read. Remove its rule file."
        )
    options.out.mkdir(parents=True, exist_ok=True)
    todo = [s for s in rule_sets if not is_done(options.out, s)]
    log.info("%d of %d repositories to extract", len(todo), len(rule_sets))
    if options.jobs > 1 and len(todo) > 1:
        with ProcessPoolExecutor(options.jobs) as pool:
            futures = [pool.submit(_extract_one, s, options) for s in todo]
            for future in futures:
                future.result()
    else:
        for rule_set in todo:
            extract_repository(rule_set, options.sources, options.out, guard)
            log.info("extracted %s", rule_set.repo)
    return _assemble(rule_sets, options, guard)


def _extract_one(rule_set: RuleSet, options: BuildOptions) -> None:
    kept, dropped = extract_repository(
        rule_set, options.sources, options.out, HoldoutGuard(options.guard_dir)
    )
    logging.getLogger(__name__).info(
        "extracted %s: %d kept, %d dropped", rule_set.repo, kept, dropped
    )


def _assemble(
    rule_sets: list[RuleSet], options: BuildOptions, guard: HoldoutGuard
) -> dict[str, int]:
    out = options.out
    refs: list[ClipRef] = []
    demo_paths: dict[str, Path] = {}
    if options.demos is not None:
        refs, demo_paths = _demo_refs(options.demos, out, guard)
    n_reference = len(refs)
    candidates: list[dict[str, str]] = []
    drops: list[dict[str, str]] = []
    for rule_set in rule_sets:
        folder = repo_folder(out, rule_set.repo)
        rows = read_rows(folder / "candidates.csv")
        envelopes = load_envelopes(folder / "envelopes.npz")
        if len(rows) != len(envelopes):
            raise RuntimeError(f"{folder}: candidates and envelopes disagree; delete the folder")
        for row, env in zip(rows, envelopes, strict=True):
            refs.append(
                ClipRef(row["path"], row["label"], row["source_repo"], row["pcm_sha1"], env)
            )
        candidates += rows
        drops += read_rows(folder / "drops.csv")

    def load(key: str) -> FloatArray:
        path = demo_paths[key] if key.startswith(DEMOS_KEY) else out / key
        samples, _ = sf.read(str(path), dtype="float32")
        return np.asarray(samples)

    copies = find_copies(refs, load, n_reference=n_reference)
    by_path = {row["path"]: row for row in candidates}
    dropped_paths = set()
    for copy in copies:
        if copy.same_label:
            row = by_path[copy.key]
            dropped_paths.add(copy.key)
            drops.append(
                {
                    "source_repo": row["source_repo"],
                    "source_path": row["source_path"],
                    "blob": row["blob"],
                    "stage": "duplicate",
                    "reason": f"{copy.kind} as {copy.of}",
                }
            )
    kept = [
        {c: row[c] for c in MANIFEST_COLUMNS}
        for row in candidates
        if row["path"] not in dropped_paths
    ]
    write_rows(out / "manifest.csv", MANIFEST_COLUMNS, kept)
    write_rows(out / "dropped.csv", DROP_COLUMNS, drops)
    write_rows(
        out / "copies.csv",
        ("key", "of", "kind", "same_label"),
        [{"key": c.key, "of": c.of, "kind": c.kind, "same_label": c.same_label} for c in copies],
    )
    write_report(out, kept, drops)
    (out / "BUILD.json").write_text(
        json.dumps(
            {
                "candidate_columns": list(CANDIDATE_COLUMNS),
                "repositories": {s.repo: s.commit for s in rule_sets},
                "demos": str(options.demos) if options.demos else None,
            },
            indent=1,
        )
        + "\n"
    )
    return {
        "clips": len(kept),
        "dropped": len(drops),
        "sources": len({r["source_repo"] for r in kept}),
        "rule_files": len(rule_sets),
    }


def _demo_refs(
    demos: Path, out: Path, guard: HoldoutGuard
) -> tuple[list[ClipRef], dict[str, Path]]:
    """The demos as the first, always-kept references; the guard's drops among them are
    listed in ``demos_guard_drops.csv`` (leave them out of every training and tuning set)."""
    refs: list[ClipRef] = []
    paths: dict[str, Path] = {}
    flagged = []
    rows = read_rows(demos / "manifest.csv")
    for row in rows:
        path = demos / row["path"]
        samples, rate = sf.read(str(path), dtype="float32", always_2d=True)
        if rate != 16000:
            raise ValueError(f"{path}: {rate} Hz; the demos are 16 kHz")
        mono = samples.mean(axis=1)
        reason = guard.clip_reason(mono, row.get("source_repo", ""))
        if reason:
            flagged.append({**row, "guard_reason": reason})
            continue  # reserved audio is no reference either: it is never used
        key = DEMOS_KEY + row["path"]
        refs.append(
            ClipRef(key, row["label"], "demos:" + row.get("source_repo", ""),
                    pcm_sha1(to_pcm16(mono)), envelope(mono))
        )  # fmt: skip
        paths[key] = path
    columns = (*rows[0].keys(), "guard_reason") if rows else ("path", "guard_reason")
    write_rows(out / "demos_guard_drops.csv", columns, flagged)
    return refs, paths
