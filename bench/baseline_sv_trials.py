"""Raw GE2E baseline on a trial CSV: Resemblyzer preprocess_wav + embed_utterance + cosine.

    .venv/bin/python bench/baseline_sv_trials.py artifacts/sv_trials/phone.csv

The reference to compare ``voxguard eval sv --trials`` with on the same files (export extra).
Several enrollment files are combined as Resemblyzer's ``embed_speaker`` does.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from voxguard.audio.decode import load_audio
from voxguard.evaluation.metrics import eer, min_dcf
from voxguard.evaluation.speaker_eval import read_trials


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("trials", type=Path)
    args = parser.parse_args()
    from resemblyzer import VoiceEncoder, preprocess_wav

    encoder = VoiceEncoder(device="cpu", verbose=False)
    cache: dict[Path, np.ndarray] = {}

    def embed(path: Path) -> np.ndarray:
        if path not in cache:
            wav = preprocess_wav(load_audio(path).samples)
            if wav.size < 1600:  # webrtcvad kept nothing: use the whole clip
                wav = load_audio(path).samples
            cache[path] = encoder.embed_utterance(wav)
        return cache[path]

    scores, labels = [], []
    for trial in read_trials(args.trials):
        enroll = np.mean([embed(p) for p in trial.enroll], axis=0)
        scores.append(float(enroll @ embed(trial.test) / np.linalg.norm(enroll)))
        labels.append(trial.label)
    report = {
        "eer": round(100 * eer(scores, labels), 4),
        "min_dcf": round(min_dcf(scores, labels), 4),
        "n_target": int(sum(labels)),
        "n_nontarget": len(labels) - int(sum(labels)),
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
