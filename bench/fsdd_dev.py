"""FSDD development protocol (training recordings only): enrollment weighting study.

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python bench/fsdd_dev.py [--draws 20]

Never touches the official test recordings (index 0-4). Per draw: each speaker is enrolled on 5
recordings picked (seeded) from index 25-49, and tested on every recording with index 5-24 of
every speaker (all cross pairs: 1,200 target and 6,000 non-target trials per draw). Each
enrollment-weight rule is scored on the same draws with the shipped engine; the EER is per draw,
then averaged, with the per-draw difference against the previous rule (quality-weighted).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import numpy as np

from voxguard.evaluation.metrics import eer
from voxguard.evaluation.speaker_eval import FSDD_SPEAKERS
from voxguard.speaker import enrollment
from voxguard.speaker.engine import SpeakerEngine
from voxguard.speaker.types import Embedding

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "fsdd"

RULES: dict[str, Callable[[Embedding], float]] = {
    "before: speech_s * max(quality, 0.05)": lambda e: min(e.speech_s, 60.0) * max(e.quality, 0.05),
    "uniform": lambda e: 1.0,
    "speech_s (shipped now)": enrollment.sample_weight,
    "speech_s * max(quality, 0.5)": lambda e: min(e.speech_s, 60.0) * max(e.quality, 0.5),
}


def index(path: Path) -> int:
    return int(path.stem.split("_")[2])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--draws", type=int, default=20)
    args = parser.parse_args()

    engine = SpeakerEngine()
    files = {s: sorted(args.data.glob(f"*_{s}_*.wav")) for s in FSDD_SPEAKERS}
    pool = {s: [p for p in fs if 25 <= index(p) <= 49] for s, fs in files.items()}
    tests = [(s, p) for s, fs in files.items() for p in fs if 5 <= index(p) <= 24]
    enroll_emb = {
        p: engine.embed_source(p, variants=True, strict=False) for ps in pool.values() for p in ps
    }
    test_emb = [(s, engine.embed_source(p, strict=False)) for s, p in tests]
    labels_by_speaker = {s: np.array([t == s for t, _ in test_emb]) for s in FSDD_SPEAKERS}

    results: dict[str, list[float]] = {name: [] for name in RULES}
    original = enrollment.sample_weight
    for draw in range(args.draws):
        rng = np.random.default_rng(1000 + draw)
        picks = {
            s: [pool[s][i] for i in sorted(rng.choice(len(pool[s]), 5, replace=False))]
            for s in FSDD_SPEAKERS
        }
        for name, rule in RULES.items():
            enrollment.sample_weight = rule  # type: ignore[assignment]
            try:
                scores, labels = [], []
                for s in FSDD_SPEAKERS:
                    vp = engine.enroll([enroll_emb[p] for p in picks[s]])
                    scores.extend(engine.verify(vp, e).llr for _, e in test_emb)
                    labels.extend(labels_by_speaker[s])
            finally:
                enrollment.sample_weight = original
            results[name].append(100.0 * eer(np.array(scores), np.array(labels, dtype=int)))
    ref = np.array(results[next(iter(RULES))])
    print(
        f"FSDD dev (enroll 25-49, test 5-24), {args.draws} draws: "
        "mean EER %, per-draw diff vs before"
    )
    for name, values in results.items():
        v = np.array(values)
        d = v - ref
        print(
            f"{name:40s} {v.mean():6.2f}  (sd {v.std(ddof=1):.2f})  diff {d.mean():+.2f} "
            f"[{d.min():+.2f}, {d.max():+.2f}], better in {int((d < 0).sum())}/{len(d)}"
        )


if __name__ == "__main__":
    main()
