"""Which turns of a conversation with a TTS voice are flagged synthetic?

    .venv/bin/python bench/diar_tts_turns.py [--set artifacts/diar/tts]
    .venv/bin/python bench/diar_tts_turns.py --set artifacts/diar/clean   # humans only

On the ``tts`` condition of the diarization evaluation set (``make diar-set``: a LibriSpeech
reader talking with an espeak-ng voice), each conversation goes through the same analysis as
``POST /v1/analyze`` (``AnalysisService``). Each hypothesised turn is matched to the
reference speaker it overlaps most; the report is the share of each voice's turn time
flagged synthetic, for the detector's verdicts per turn and per speaker. On a condition
without ``labels.csv`` (clean, phone, babble: LibriSpeech readers only) every voice is human,
so the report is the honest callers' false alarms.
``--without-classical-head`` scores with the main spoof model alone (its sidecar's
classical-TTS head left out), the baseline of a before/after comparison on the same set;
``--model-dir`` scores with another exported spoof model (default: the bundled one).
"""

from __future__ import annotations

import argparse
import csv
import os
import tempfile
from collections import defaultdict
from pathlib import Path

from voxguard.diarization import Turn
from voxguard.evaluation.diarization import read_manifest


def _owner(turn: Turn, reference: list[Turn]) -> str | None:
    best, shared_best = None, 0.0
    for ref in reference:
        shared = min(turn.end_s, ref.end_s) - max(turn.start_s, ref.start_s)
        if shared > shared_best:
            best, shared_best = ref.speaker, shared
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--set", type=Path, default=Path("artifacts/diar/tts"))
    parser.add_argument("--without-classical-head", action="store_true")
    parser.add_argument("--model-dir", type=Path, help="an exported spoof model folder")
    args = parser.parse_args()
    os.environ.setdefault("VOXGUARD_DATA_DIR", tempfile.mkdtemp(prefix="vg-bench-"))
    from voxguard.config import get_settings
    from voxguard.services.analysis import AnalysisService
    from voxguard.services.audio_input import AudioInput
    from voxguard.services.engines import Loaded, SpoofAdapter
    from voxguard.services.runtime import build_runtime
    from voxguard.spoof import SpoofDetector
    from voxguard.store.db import unit_of_work

    labels = args.set / "labels.csv"  # only the tts condition has one: elsewhere all are human
    labelled = labels.is_file()
    synthetic = {
        (row["uri"], row["speaker"]): row["synthetic"] == "1"
        for row in (csv.DictReader(labels.open()) if labelled else [])
    }
    spoof = None
    if args.without_classical_head or args.model_dir is not None:
        detector = SpoofDetector(args.model_dir, classical_head=not args.without_classical_head)
        spoof = Loaded(SpoofAdapter(detector))
    runtime = build_runtime(get_settings(), spoof=spoof)
    flagged: dict[str, float] = defaultdict(float)
    total: dict[str, float] = defaultdict(float)
    speaker_right = speakers = 0
    for row in read_manifest(args.set / "manifest.csv"):
        uri = row.audio.stem
        with unit_of_work(runtime.store.sessions) as session:
            result = AnalysisService(runtime, session, "bench").analyze(
                AudioInput(row.audio.name, row.audio.read_bytes())
            )
        votes: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        for t in result.turns:
            owner = _owner(Turn(t.start_s, t.end_s, t.speaker), row.reference)
            if owner is None:
                continue
            # With labels, every voice must be in them (a missing one is an error, not a human).
            kind = "tts" if labelled and synthetic[(uri, owner)] else "human"
            duration = t.end_s - t.start_s
            total[kind] += duration
            flagged[kind] += duration if t.is_synthetic else 0.0
            votes[t.speaker][kind] += duration
        for s in result.speakers:
            if not votes[s.speaker]:
                continue
            kind = max(votes[s.speaker], key=lambda k: votes[s.speaker][k])
            speakers += 1
            speaker_right += int(bool(s.is_synthetic) == (kind == "tts"))
    for kind in ("tts", "human"):
        share = flagged[kind] / total[kind] if total[kind] else float("nan")
        print(f"{kind} turn time flagged synthetic: {100 * share:.1f}% of {total[kind]:.0f} s")
    print(f"speaker verdicts right: {speaker_right} of {speakers}")


if __name__ == "__main__":
    main()
