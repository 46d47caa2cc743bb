"""A capped copy of the real-world corpus's manifest, for experiments that cannot featurise
all of it: in each source at most ``--per-system`` clips of each spoof system and at most
``--genuine`` genuine clips, the first by blob hash. The clips stay where they are (the copy
links to them); every source and every source-system pair is kept.

    python scripts/cap_realworld.py --corpus /work/realworld --out /work/realworld-cap \
        --per-system 5 --genuine 40
"""

from __future__ import annotations

import argparse
import collections
import csv
from pathlib import Path


def cap(rows: list[dict[str, str]], per_system: int, genuine: int) -> list[dict[str, str]]:
    cells: dict[tuple[str, str], list[dict[str, str]]] = collections.defaultdict(list)
    for r in rows:
        system = "bonafide" if r["label"] == "bonafide" else r["system"]
        cells[(r["source_repo"], system)].append(r)
    kept: list[dict[str, str]] = []
    for _, cell in sorted(cells.items()):
        limit = genuine if cell[0]["label"] == "bonafide" else per_system
        kept += sorted(cell, key=lambda r: r["blob"])[:limit]
    return kept


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--per-system", type=int, default=5)
    ap.add_argument("--genuine", type=int, default=40)
    args = ap.parse_args()
    with (args.corpus / "manifest.csv").open(newline="") as f:
        reader = csv.DictReader(f)
        fields, rows = list(reader.fieldnames or []), list(reader)
    kept = cap(rows, args.per_system, args.genuine)
    args.out.mkdir(parents=True, exist_ok=True)
    clips = args.out / "clips"
    if not clips.exists():
        clips.symlink_to((args.corpus / "clips").resolve())
    with (args.out / "manifest.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(kept)
    genuine = sum(r["label"] == "bonafide" for r in kept)
    print(f"{len(kept)} clips ({genuine} genuine) of {len(rows)} in {args.out / 'manifest.csv'}")


if __name__ == "__main__":
    main()
