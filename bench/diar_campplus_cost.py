"""What clustering on CAM++ windows (Round 19, ``cluster_embedder="campplus"``) adds to the
diarizer's run time.

    OMP_NUM_THREADS=1 .venv/bin/python bench/diar_campplus_cost.py [--set artifacts/diar/clean] \
        [--files 5]

Each conversation is diarized with the defaults (clustering on centred CAM++ windows) and, as
the named baseline in the same run, with the defaults before Round 19 (GE2E's windows after
the back end's noisy-path whitening, ``same_speaker_llr=10``, ``eigengap_share=0.7``). Best
of three per file, the two interleaved; prints the seconds of each, their ratio, and the
real-time factor of the defaults.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from voxguard.diarization.pipeline import DiarizationParams, Diarizer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from diar_overlap_cost import _best, conversations

CAMPPLUS = DiarizationParams()
GE2E = dataclasses.replace(
    CAMPPLUS,
    cluster_embedder=None,
    cluster_wccn="noisy",
    same_speaker_llr=10.0,
    clustering=dataclasses.replace(CAMPPLUS.clustering, eigengap_share=0.7),
)


def main() -> None:
    baseline = Diarizer(params=GE2E)
    campplus = Diarizer(encoder=baseline.encoder, params=CAMPPLUS)
    ratios, real_time = [], []
    for row in conversations(__doc__, "artifacts/diar/clean"):
        duration_s = sf.info(str(row.audio)).duration
        base_s = _best(lambda row=row: baseline.diarize(row.audio))
        cam_s = _best(lambda row=row: campplus.diarize(row.audio))
        ratios.append(cam_s / base_s)
        real_time.append(cam_s / duration_s)
        print(
            f"{row.audio.name} ({duration_s:.0f} s of audio): GE2E {base_s:.2f} s, "
            f"CAM++ {cam_s:.2f} s ({ratios[-1]:.2f})"
        )
    print(
        f"median ratio CAM++ / GE2E: {float(np.median(ratios)):.2f} over {len(ratios)} files; "
        f"CAM++ real-time factor (median): {float(np.median(real_time)):.3f}"
    )


if __name__ == "__main__":
    main()
