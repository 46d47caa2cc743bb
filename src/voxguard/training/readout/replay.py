"""A replay sample of the base model's own training data, shipped as features, not audio.

A read-out refitted on new data alone forgets what the base model knew (on espeak-ng vs
LibriSpeech the candidate went from 100% to 0% EER while the base's own demo spoofs went from
21.7% to 51.7%, bench/retrain_espeak.py). Retraining therefore mixes in these windows: the
read-out features (spectral statistics and pooled encoder activations) of the guarded
demo-page clips the bundled model was trained on, as float16.

    python -m voxguard.training.readout.replay [--demos ../shared/data/demos] \\
        [--out src/voxguard/models/spoof/replay.npz]

The features depend only on the base graph's feature part, which retraining never changes,
so one replay file serves every version derived from the bundled model.
"""

from __future__ import annotations

import argparse
from functools import partial
from pathlib import Path

import numpy as np

from voxguard.models import bundled_model_path
from voxguard.training.readout.features import FeatureSet, Recording

REPLAY_FILE = "replay.npz"


def _same(path: Path) -> Path:
    return path


def _unavailable() -> Path:
    raise RuntimeError("replay windows carry features only, no audio")


def save_replay(data: FeatureSet, path: Path, source: str) -> None:
    np.savez_compressed(
        path,
        features=data.features.astype(np.float16),
        base_logits=data.base_logits.astype(np.float16),
        branch=data.branch.astype(np.float16),
        window_file=data.window_file.astype(np.int32),
        labels=data.file_labels.astype(np.int8),
        keys=np.array([r.key for r in data.files]),
        systems=np.array([r.system or "" for r in data.files]),
        stats_dims=np.array(data.stats_dims),
        source=np.array(source),
    )


def load_replay(path: Path | None = None) -> tuple[FeatureSet, str] | None:
    """The bundled replay sample and what it holds; None when the package has none."""
    path = path or bundled_model_path("spoof", REPLAY_FILE)
    if not path.is_file():
        return None
    with np.load(path) as data:
        files = [
            Recording(str(key), int(label), _unavailable, str(system) or None)
            for key, label, system in zip(
                data["keys"], data["labels"], data["systems"], strict=True
            )
        ]
        replay = FeatureSet(
            features=data["features"].astype(np.float32),
            base_logits=data["base_logits"].astype(np.float32),
            # A replay file from a graph without a branch has none stored.
            branch=(
                data["branch"].astype(np.float32)
                if "branch" in data
                else np.zeros(data["base_logits"].shape, np.float32)
            ),
            window_file=data["window_file"].astype(np.int64),
            files=files,
            stats_dims=int(data["stats_dims"]),
        )
        return replay, str(data["source"])


def merge(data: FeatureSet, replay: FeatureSet) -> FeatureSet:
    """``replay``'s files after ``data``'s (their indices shifted)."""
    return FeatureSet(
        features=np.concatenate([data.features, replay.features]),
        base_logits=np.concatenate([data.base_logits, replay.base_logits]),
        branch=np.concatenate([data.branch, replay.branch]),
        window_file=np.concatenate([data.window_file, replay.window_file + len(data.files)]),
        files=[*data.files, *replay.files],
        stats_dims=data.stats_dims,
        skipped=data.skipped,
    )


def main() -> int:
    from voxguard.spoof.detector import SpoofDetector
    from voxguard.training.detector.data import demo_clips
    from voxguard.training.readout.features import Featurizer

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--demos", type=Path, default=Path("../shared/data/demos"))
    parser.add_argument("--out", type=Path, default=bundled_model_path("spoof", REPLAY_FILE))
    args = parser.parse_args()
    clips = demo_clips(args.demos)  # the holdout guard's flagged clips are left out here
    recordings = [
        Recording(f"{c.group}:{c.path.name}", c.label, partial(_same, c.path), c.system)
        for c in clips
    ]
    data = Featurizer(SpoofDetector()).featurize(recordings)
    source = (
        f"{len(data.files)} guarded demo-page clips of the bundled model's training set "
        f"({int(data.file_labels.sum())} spoof), {data.base_logits.size} windows; its "
        "HiFi-GAN copies are not included"
    )
    save_replay(data, args.out, source)
    print(f"{args.out}: {source}; {args.out.stat().st_size / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
