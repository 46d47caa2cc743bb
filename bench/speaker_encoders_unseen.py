"""Raw CAM++ against raw GE2E on `bench/speaker_unseen.py`'s trials: unseen readers, unseen babble.

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python bench/speaker_encoders_unseen.py \
        --seeds 7 13 21 [--json OUT]

The same readers, folds and views as `bench/speaker_unseen.py` (its `reader_folds`,
`make_trial_views`, and the babbled enrollment drawn as it draws it): each fold's readers,
enrollment = the first half of their recording (clean, or with 3 talkers of the next fold at
5 dB for `babble_both`), test = the second half in five conditions. Both encoders embed a
whole recording with no back end (cosine):

- GE2E: Resemblyzer's `preprocess_wav` + `embed_utterance`, the issue's baseline;
- CAM++ (`models/campplus`, the diarizer's clustering encoder): the front end's VAD speech
  (the whole clip when it keeps under 0.5 s), Kaldi filterbanks, one pass over all frames.

EER per condition, pooled over the 5 rotations; the ratio is CAM++ / GE2E. Neither encoder is
fitted here, so no reader or talker of a trial was seen by anything fitted in this run (GE2E
heard LibriSpeech train-clean-100 in its own training; whether CAM++ heard LibriSpeech is not
stated by its authors).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from voxguard.evaluation.metrics import eer
from voxguard.speaker.campplus import CamppEncoder, kaldi_fbank
from voxguard.speaker.training.views import (
    BABBLE_SNR_DB,
    BABBLE_TALKERS,
    MIN_TRIAL_SECONDS,
    SpeechEmbedder,
    babble_mix,
    load_readers,
    make_trial_views,
    split_halves,
    test_phone_channel,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from speaker_unseen import DATA, FOLDS, reader_folds

CONDITIONS = ("clean", "cut2", "phone", "babble", "babble_both")


def embed_seed(seed: int, campplus: CamppEncoder) -> dict[str, dict[str, list[np.ndarray]]]:
    """Per encoder, per view name: one embedding per reader (in fold order), plus the folds."""
    from resemblyzer import VoiceEncoder, preprocess_wav

    reference = VoiceEncoder(device="cpu", verbose=False)
    speech = SpeechEmbedder()
    phone, _ = test_phone_channel()
    readers = load_readers(DATA)
    speakers = sorted(s for s, w in readers.items() if w.size >= MIN_TRIAL_SECONDS * 16000)
    folds = reader_folds(speakers, seed)
    out: dict[str, dict[str, list[np.ndarray]]] = {"ge2e": {}, "campplus": {}, "fold": {}}

    def add(name: str, samples: np.ndarray) -> None:
        ge2e = reference.embed_utterance(preprocess_wav(samples))
        voiced = speech.speech(samples)
        fbank = kaldi_fbank(voiced)
        cam = campplus.embed_windows(fbank, np.array([0]), fbank.shape[0])[0]
        out["ge2e"].setdefault(name, []).append(ge2e)
        out["campplus"].setdefault(name, []).append(cam)

    start = time.time()
    for fold, members in enumerate(folds):
        test_pool = folds[(fold + 1) % FOLDS]
        for speaker in members:
            views = make_trial_views(speaker, readers, test_pool, seed, phone=phone)
            for name in ("clean", "cut2", "phone", "babble"):
                add(f"test_{name}", getattr(views, name))
            enroll_half, _ = split_halves(readers[speaker])
            add("enroll", enroll_half)
            erng = np.random.default_rng([seed, int(speaker), 3])
            mixed = babble_mix(enroll_half, readers, test_pool, BABBLE_TALKERS, BABBLE_SNR_DB, erng)
            add("enroll_babble", mixed)
            out["fold"].setdefault("fold", []).append(np.array(fold))
        print(f"  seed {seed}: fold {fold} done ({time.time() - start:.0f} s)", file=sys.stderr)
    return out


def eers(table: dict[str, dict[str, list[np.ndarray]]], encoder: str) -> dict[str, float]:
    folds = np.array(table["fold"]["fold"])
    views = {k: np.stack(v) for k, v in table[encoder].items()}
    views = {k: v / np.linalg.norm(v, axis=1, keepdims=True) for k, v in views.items()}
    result = {}
    for condition in CONDITIONS:
        enroll = views["enroll_babble" if condition == "babble_both" else "enroll"]
        test = views["test_babble" if condition == "babble_both" else f"test_{condition}"]
        scores, labels = [], []
        for fold in range(FOLDS):
            idx = np.flatnonzero(folds == fold)
            matrix = enroll[idx] @ test[idx].T
            scores.append(matrix.ravel())
            labels.append(np.eye(idx.size).ravel())
        result[condition] = 100 * eer(np.concatenate(scores), np.concatenate(labels))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, nargs="+", default=[7, 13, 21])
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    campplus = CamppEncoder()
    report = {}
    for seed in args.seeds:
        table = embed_seed(seed, campplus)
        report[seed] = {name: eers(table, name) for name in ("ge2e", "campplus")}
    pooled = {
        name: {c: float(np.mean([report[s][name][c] for s in args.seeds])) for c in CONDITIONS}
        for name in ("ge2e", "campplus")
    }
    print(f"{'condition':12} {'GE2E %':>8} {'CAM++ %':>8} {'ratio':>6}   (mean over seeds)")
    for c in CONDITIONS:
        g, m = pooled["ge2e"][c], pooled["campplus"][c]
        print(f"{c:12} {g:8.2f} {m:8.2f} {m / max(g, 1e-9):6.2f}")
    for seed in args.seeds:
        row = " ".join(
            f"{c} {report[seed]['ge2e'][c]:.2f}/{report[seed]['campplus'][c]:.2f}"
            for c in CONDITIONS
        )
        print(f"seed {seed} (GE2E/CAM++): {row}")
    if args.json:
        args.json.write_text(json.dumps({"per_seed": report, "mean": pooled}, indent=1))


if __name__ == "__main__":
    main()
