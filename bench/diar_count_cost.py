"""What the speaker-count steps of Rounds 10-11 and the whitened clustering of Round 14b add to
the diarizer's run time.

    OMP_NUM_THREADS=1 .venv/bin/python bench/diar_count_cost.py [--set artifacts/diar/babble] \
        [--files 5]

Each conversation is diarized with the defaults (``clustering.silhouette_share``,
``crowd_threshold``, ``same_speaker_llr`` and ``cluster_wccn`` on) and, as the named baseline
in the same run, with those four off (the defaults before Round 10,
docs/diarization-experiments/2026-12-06-count-adds-and-removes.md).
Best of three per file, the two interleaved; prints the seconds of each and their ratio.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np

from voxguard.diarization.pipeline import DiarizationParams, Diarizer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from diar_overlap_cost import _best, conversations


def main() -> None:
    defaults = DiarizationParams()
    before = dataclasses.replace(
        defaults,
        clustering=dataclasses.replace(defaults.clustering, silhouette_share=None),
        crowd_threshold=None,
        same_speaker_llr=None,
        cluster_wccn=None,
    )
    now, baseline = Diarizer(params=defaults), Diarizer(params=before)
    ratios = []
    for row in conversations(__doc__, "artifacts/diar/babble"):
        base_s = _best(lambda row=row: baseline.diarize(row.audio))
        now_s = _best(lambda row=row: now.diarize(row.audio))
        ratios.append(now_s / base_s)
        print(f"{row.audio.name}: before {base_s:.2f} s, now {now_s:.2f} s ({ratios[-1]:.2f})")
    print(f"median ratio now / before: {float(np.median(ratios)):.2f} over {len(ratios)} files")


if __name__ == "__main__":
    main()
