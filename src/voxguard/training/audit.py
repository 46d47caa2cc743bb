"""Per-generator statistics of the clean clips: the shortcuts a detector could key on.

    python -m voxguard.training.audit --manifest /work/corpus/manifest.csv [--per-generator 40]

Prints, per generator, the median duration, active level, share of energy above 4 kHz and
the leading low-energy time. Genuine and synthetic rows should look alike in every column
except the one that matters.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from voxguard.audio import TARGET_SAMPLE_RATE
from voxguard.audio.types import FloatArray
from voxguard.training.manifest import ManifestRow, read_manifest
from voxguard.training.signal import read_wav, rms_db

COLUMNS = ("duration_s", "level_db", "hf_share_pct", "lead_s")


def clip_stats(samples: FloatArray) -> dict[str, float]:
    frame = 512
    n = samples.size // frame
    energy = np.square(samples[: n * frame].reshape(n, frame)).mean(axis=1)
    active = energy > 0.01 * energy.max() if n else np.zeros(0, bool)
    lead = int(np.argmax(active)) * frame / TARGET_SAMPLE_RATE if active.any() else 0.0
    spectrum = np.abs(np.fft.rfft(samples)) ** 2
    freqs = np.fft.rfftfreq(samples.size, 1 / TARGET_SAMPLE_RATE)
    return {
        "duration_s": samples.size / TARGET_SAMPLE_RATE,
        "level_db": rms_db(samples),
        "hf_share_pct": 100 * float(spectrum[freqs > 4000].sum() / (spectrum.sum() + 1e-12)),
        "lead_s": lead,
    }


def audit(
    rows: Sequence[ManifestRow], corpus: Path, per_generator: int, seed: int = 0
) -> dict[str, dict[str, float]]:
    """Median statistics of up to ``per_generator`` clean clips of each generator."""
    by_generator: dict[str, list[ManifestRow]] = defaultdict(list)
    for row in rows:
        if row.augmentation == "none":
            by_generator[row.generator].append(row)
    rng = np.random.default_rng(seed)
    result = {}
    for name, members in sorted(by_generator.items()):
        chosen = rng.permutation(len(members))[:per_generator]
        stats = [clip_stats(read_wav(corpus / members[int(i)].path)[0]) for i in chosen]
        result[name] = {c: float(np.median([s[c] for s in stats])) for c in COLUMNS}
    return result


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--manifest", type=Path, required=True)
    parser.add_argument("--per-generator", type=int, default=40)
    args = parser.parse_args(argv)
    rows = read_manifest(args.manifest)
    table = audit(rows, args.manifest.parent, args.per_generator)
    print(f"| generator | {' | '.join(COLUMNS)} |")
    print(f"| --- |{' ---: |' * len(COLUMNS)}")
    for name, stats in table.items():
        print(f"| {name} | " + " | ".join(f"{stats[c]:.2f}" for c in COLUMNS) + " |")


if __name__ == "__main__":
    main()
