"""Evaluation manifests (path,label,system) for ``voxguard eval cm`` from the corpus.

    python -m voxguard.training.detector.manifests --corpus /work/corpus --out /tmp/spoof-eval

Writes ``corpus_test_clean.csv`` and ``corpus_test_aug.csv``: the corpus's test-split clips
(genuine test speakers and every generator's test-split spoofs), clean and channel-augmented;
``system`` is the generator. Paths are written relative to ``--out``.
"""

from __future__ import annotations

import argparse
import csv
import os
from pathlib import Path


def write_manifests(corpus: Path, out: Path) -> list[Path]:
    rows = list(csv.DictReader((corpus / "manifest.csv").open()))
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, augmented in (("corpus_test_clean.csv", False), ("corpus_test_aug.csv", True)):
        path = out / name
        with path.open("w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["path", "label", "system"])
            for r in rows:
                is_aug = (r.get("augmentation") or "none") != "none"
                if r.get("split") != "test" or is_aug != augmented:
                    continue
                system = "human" if r["label"] == "bonafide" else r["generator"]
                rel = os.path.relpath(corpus / r["path"], out)
                writer.writerow([rel, r["label"], system])
        written.append(path)
    return written


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--corpus", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    for path in write_manifests(args.corpus, args.out):
        print(path)


if __name__ == "__main__":
    main()
