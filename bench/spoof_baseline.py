"""The named baseline: 26 librosa summary features + scikit-learn RandomForest.

The classic recipe many projects ship (chroma, RMS, spectral centroid / bandwidth / rolloff,
zero-crossing rate and 20 MFCC means over the clip). Here it sees the same level-normalised
4 s speech windows as the detector and its window probabilities are averaged per file, so the
two are compared on equal terms. Used by ``voxguard.training.detector.protocols`` and by
``bench/spoof_speed.py``.
"""

from __future__ import annotations

import numpy as np
from sklearn.ensemble import RandomForestClassifier

SR = 16000
FEATURE_NAMES = [
    "chroma_stft",
    "rms",
    "spectral_centroid",
    "spectral_bandwidth",
    "rolloff",
    "zero_crossing_rate",
    *[f"mfcc{i}" for i in range(1, 21)],
]


def baseline_features(window: np.ndarray) -> np.ndarray:
    """The 26 summary features of one window of 16 kHz audio."""
    import librosa

    y = window.astype(np.float32)
    feats = [
        np.mean(librosa.feature.chroma_stft(y=y, sr=SR)),
        np.mean(librosa.feature.rms(y=y)),
        np.mean(librosa.feature.spectral_centroid(y=y, sr=SR)),
        np.mean(librosa.feature.spectral_bandwidth(y=y, sr=SR)),
        np.mean(librosa.feature.spectral_rolloff(y=y, sr=SR)),
        np.mean(librosa.feature.zero_crossing_rate(y)),
    ]
    mfcc = librosa.feature.mfcc(y=y, sr=SR, n_mfcc=20).mean(axis=1)
    return np.asarray([*feats, *mfcc], dtype=np.float32)


def train_baseline(
    features: np.ndarray, labels: np.ndarray, seed: int = 0
) -> RandomForestClassifier:
    model = RandomForestClassifier(
        n_estimators=200, min_samples_leaf=2, class_weight="balanced", n_jobs=1, random_state=seed
    )
    model.fit(features, labels)
    return model


def baseline_logit(model: RandomForestClassifier, features: np.ndarray) -> np.ndarray:
    """Window scores as logits of the forest's spoof probability (clipped away from 0 and 1)."""
    p = np.clip(model.predict_proba(features)[:, 1], 1e-3, 1 - 1e-3)
    return np.log(p / (1 - p))


def main() -> None:
    """Compute the 26 features for every window of a detector feature cache."""
    import argparse
    import sys
    from pathlib import Path

    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("--cache", type=Path, required=True, help="npz from the detector training")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    waves = np.load(args.cache)["waves"]
    feats = []
    for i, w in enumerate(waves):
        if i % 500 == 0:
            print(f"baseline features {i}/{len(waves)}", file=sys.stderr, flush=True)
        feats.append(baseline_features(w.astype(np.float32) / 32767))
    np.savez(args.out, features=np.stack(feats))


if __name__ == "__main__":
    main()
