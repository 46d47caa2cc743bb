"""Evaluation protocols from a corpus manifest.

    python -m voxguard.training.protocols --manifest /work/corpus/manifest.csv \\
        --out /work/corpus/protocols

Writes, under OUT:

- ``in_domain/{train,dev,test}.csv``: the manifest's speaker-disjoint ``split`` column.
- ``logo/<held-out>/{train,dev,test}.csv``, one per neural generator and one per spoof family:
  the held-out generator(s) appear in no train or dev list. Test holds the genuine test split
  and every clip of the held-out generator(s), from all splits. A resynthesis of a train-split
  reader is tested although that reader's genuine speech was trained on: if anything that
  pulls the detector towards "genuine" on those clips, so the estimate errs on the pessimistic
  side, and it gives five times more held-out clips than the test speakers alone.

Each CSV has the manifest's columns plus ``system`` (the generator), with paths rewritten
relative to the CSV's own folder, so ``voxguard eval cm --manifest OUT/.../test.csv`` reads it
as it is.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path

from voxguard.training.manifest import COLUMNS, ManifestRow, read_manifest

NEURAL_FAMILIES = ("neural_tts", "neural_vocoder")
SPLIT_NAMES = ("train", "dev", "test")


def leave_out(
    rows: Sequence[ManifestRow], held_out: Callable[[ManifestRow], bool]
) -> dict[str, list[ManifestRow]]:
    """train/dev/test lists in which no held-out row is trained or tuned on; test compares
    the held-out spoofs with the genuine test split only."""
    lists: dict[str, list[ManifestRow]] = {name: [] for name in SPLIT_NAMES}
    for row in rows:
        if held_out(row):
            lists["test"].append(row)
        elif row.split != "test":
            lists[row.split].append(row)
        elif row.label == "bonafide":
            lists["test"].append(row)
    return lists


def protocols(rows: Sequence[ManifestRow]) -> dict[str, dict[str, list[ManifestRow]]]:
    """Every protocol by name: in-domain, each neural generator out, each spoof family out."""
    result: dict[str, dict[str, list[ManifestRow]]] = {"in_domain": {s: [] for s in SPLIT_NAMES}}
    for row in rows:
        result["in_domain"][row.split].append(row)
    spoofs = [r for r in rows if r.label == "spoof"]
    neural = sorted({r.generator for r in spoofs if r.family in NEURAL_FAMILIES})
    families = sorted({r.family for r in spoofs})
    for name in neural:
        result[f"logo/{name}"] = leave_out(rows, _matching("generator", name))
    for family in families:
        result[f"logo/family-{family}"] = leave_out(rows, _matching("family", family))
    return result


def _matching(column: str, value: str) -> Callable[[ManifestRow], bool]:
    return lambda row: bool(getattr(row, column) == value)


def write_list(path: Path, rows: Sequence[ManifestRow], corpus: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=[*COLUMNS, "system"])
        writer.writeheader()
        for row in rows:
            values = {k: str(v) for k, v in asdict(row).items()}
            values["path"] = os.path.relpath(corpus / row.path, path.parent)
            values["duration_s"] = f"{row.duration_s:.3f}"
            values["system"] = row.generator if row.label == "spoof" else "bonafide"
            writer.writerow(values)


def write_protocols(manifest: Path, out: Path) -> dict[str, dict[str, dict[str, int]]]:
    """Write every protocol's lists; returns counts per protocol, split and label."""
    rows = read_manifest(manifest)
    corpus = manifest.resolve().parent
    summary: dict[str, dict[str, dict[str, int]]] = {}
    for name, lists in protocols(rows).items():
        summary[name] = {}
        for split, members in lists.items():
            write_list(out / name / f"{split}.csv", members, corpus)
            summary[name][split] = {
                label: sum(r.label == label for r in members) for label in ("bonafide", "spoof")
            }
    (out / "index.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--manifest", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    for name, splits in write_protocols(args.manifest, args.out).items():
        counts = ", ".join(f"{split} {c['bonafide']}+{c['spoof']}" for split, c in splits.items())
        print(f"{name:32s} {counts}  (bona fide + spoof)")


if __name__ == "__main__":
    main()
