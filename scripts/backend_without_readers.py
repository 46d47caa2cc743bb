"""A copy of the bundled speaker back end whose WCCNs and cohorts leave some readers out.

For measuring the diarizer (which uses the back end) on conversations of readers the back end
never heard: the readers of each ``--exclude`` set (its ``speakers.csv``, talkers and crowd)
are left out, the WCCNs and cohorts are refitted on the rest of the back end's embedding
cache (``artifacts/backend_views.npz``: ``scripts/fit_speaker_backend.py --cache-only``), and the
calibration is kept as bundled. Nothing in ``src/`` is written.

    python scripts/backend_without_readers.py --exclude artifacts/diar-dev7 \
        --exclude artifacts/diar-dev8 --out /tmp/backend-no-dev78
    python -m voxguard.training.overlap tune --dev artifacts/diar-dev7 ... \
        --backend /tmp/backend-no-dev78
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
from pathlib import Path

from voxguard.models import bundled_model_path
from voxguard.speaker.training.backend_fit import fit_backend, read_view_cache

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "artifacts" / "backend_views.npz"


def readers_of(set_dir: Path) -> set[str]:
    """LibriSpeech reader ids of a conversation set (``speakers.csv``, file 1081-125237-0000...)."""
    with open(set_dir / "speakers.csv", newline="") as handle:
        return {row["file"].split("-")[0] for row in csv.DictReader(handle)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--exclude", type=Path, action="append", required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--cache", type=Path, default=CACHE)
    args = parser.parse_args()
    if not args.cache.is_file():
        raise SystemExit(f"{args.cache} missing: run scripts/fit_speaker_backend.py --cache-only")
    table = read_view_cache(args.cache)
    excluded = set().union(*(readers_of(d) for d in args.exclude))
    speakers = sorted(s for s in table if s not in excluded)
    raw = fit_backend(table, speakers).npz_bytes()
    meta = json.loads((bundled_model_path("ge2e") / "backend.json").read_text())
    meta["npz_sha256"] = hashlib.sha256(raw).hexdigest()
    meta["refitted_without"] = sorted(excluded)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "backend.npz").write_bytes(raw)
    (args.out / "backend.json").write_text(json.dumps(meta, indent=1))
    print(f"{len(table)} readers in the cache, {len(excluded)} left out, fitted on {len(speakers)}")


if __name__ == "__main__":
    main()
