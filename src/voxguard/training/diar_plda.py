"""Fit the PLDA space of the diarizer's VBx resegmentation (``voxguard.diarization.vbx``).

Data: synthetic conversations with reference RTTM (``voxguard.evaluation.conversations``)
whose readers are none of the evaluation set's. Each conversation's windows are embedded as
the diarizer serves them (VAD, GE2E windows; cached under ``--cache``) and centred on the
recording's mean. A window belongs to a speaker when that reference speaker talks in at
least ``--min-share`` of its frames and nobody else in more than ``--max-other`` of them;
other windows (overlaps, pauses, turn changes) are left out. A class is one speaker in one
recording (the clean, phone and babble copies of a conversation are different recordings).

Two covariances: within a class (window around the class mean) and between classes (class
means around their recording's mean, scaled by k/(k-1) for a recording of k speakers). The
generalised eigenvectors of the pair give the transform (within-speaker covariance I) and
the between-speaker variances ``phi``, in descending order.

    python -m voxguard.training.diar_plda train --train artifacts/diar-train \
        --out src/voxguard/models/diar_plda
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy.linalg import eigh

from voxguard.audio.types import FloatArray
from voxguard.diarization.pipeline import DiarizationParams
from voxguard.diarization.types import Turn
from voxguard.diarization.vbx import ARRAYS, FORMAT, NAME, Plda
from voxguard.training.overlap import (
    CONDITIONS,
    condition_list,
    embedded_conversations,
    readers,
)

MODEL_VERSION = "diar-plda-1"
CACHE = "artifacts/diar-plda-windows"


def speaker_frames(reference: Sequence[Turn], frames: int, hop_s: float) -> tuple[list[str], Any]:
    """The reference's speakers and a (speakers, frames) bool mask of where each talks."""
    names = sorted({t.speaker for t in reference})
    mask = np.zeros((len(names), frames), dtype=bool)
    for turn in reference:
        row = names.index(turn.speaker)
        mask[row, int(turn.start_s / hop_s) : int(np.ceil(turn.end_s / hop_s))] = True
    return names, mask


def window_labels(
    reference: Sequence[Turn],
    starts: np.ndarray,
    window_frames: int,
    hop_s: float,
    min_share: float,
    max_other: float,
) -> np.ndarray:
    """Per window, the index of the one reference speaker it holds, or -1."""
    frames = int(starts.max()) + window_frames if starts.size else 0
    _, mask = speaker_frames(reference, frames, hop_s)
    if not mask.size:
        return np.full(starts.size, -1)
    cumulative = np.concatenate([np.zeros((mask.shape[0], 1)), np.cumsum(mask, axis=1)], axis=1)
    share = (cumulative[:, starts + window_frames] - cumulative[:, starts]) / window_frames
    order = np.sort(share, axis=0)
    best = share.argmax(axis=0)
    second = order[-2] if share.shape[0] > 1 else np.zeros(starts.size)
    keep = (order[-1] >= min_share) & (second <= max_other)
    return np.where(keep, best, -1)


def collect(
    set_dir: Path, cache: Path, conditions: Sequence[str], min_share: float, max_other: float
) -> tuple[FloatArray, np.ndarray, np.ndarray]:
    """Labelled, recording-centred windows of every conversation (embedded and cached by
    ``overlap.embedded_conversations``): embeddings (N, dim), class ids (N,) and recording
    ids (N,)."""
    window = DiarizationParams().window_frames
    embeddings, classes, recordings = [], [], []
    next_class = 0
    for number, c in enumerate(embedded_conversations(set_dir, cache, conditions)):
        labels = window_labels(c.row.reference, c.starts, window, c.hop_s, min_share, max_other)
        kept = labels >= 0
        if np.unique(labels[kept]).size < 2:
            continue
        centred = c.embeddings - c.embeddings.mean(axis=0)
        embeddings.append(centred[kept])
        classes.append(labels[kept] + next_class)
        recordings.append(np.full(int(kept.sum()), number))
        next_class += int(labels.max()) + 1
    return np.concatenate(embeddings), np.concatenate(classes), np.concatenate(recordings)


def fit(
    embeddings: FloatArray, classes: np.ndarray, recordings: np.ndarray, ridge: float = 1e-3
) -> tuple[Plda, dict[str, Any]]:
    """The PLDA space of labelled, recording-centred windows."""
    dim = embeddings.shape[1]
    ids, inverse = np.unique(classes, return_inverse=True)
    means = np.stack([embeddings[inverse == i].mean(axis=0) for i in range(ids.size)])
    within = embeddings - means[inverse]
    w = within.T @ within / embeddings.shape[0]
    class_recording = np.array([recordings[inverse == i][0] for i in range(ids.size)])
    deviations = []
    for recording in np.unique(class_recording):
        rows = means[class_recording == recording]
        k = rows.shape[0]
        deviations.append((rows - rows.mean(axis=0)) * np.sqrt(k / (k - 1)))
    between = np.concatenate(deviations)
    b = between.T @ between / between.shape[0]
    w += ridge * np.trace(w) / dim * np.eye(dim)
    values, vectors = eigh(b, w)  # vectors.T @ w @ vectors = I
    order = np.argsort(values)[::-1]
    positive = order[values[order] > 1e-6]
    plda = Plda(vectors[:, positive].astype(np.float64), values[positive].astype(np.float64))
    summary = {
        "windows": int(embeddings.shape[0]),
        "classes": int(ids.size),
        "recordings": int(np.unique(recordings).size),
        "directions": int(positive.size),
        "phi_first_10": [round(float(v), 3) for v in values[positive][:10]],
    }
    return plda, summary


def train(args: argparse.Namespace) -> int:
    embeddings, classes, recordings = collect(
        args.train, args.cache / args.train.name, args.conditions, args.min_share, args.max_other
    )
    plda, summary = fit(embeddings, classes, recordings)
    args.out.mkdir(parents=True, exist_ok=True)
    raw = plda.to_bytes()
    (args.out / ARRAYS).write_bytes(raw)
    sidecar = {
        "name": NAME,
        "model_version": MODEL_VERSION,
        "task": "the PLDA space (within-speaker covariance I) of the diarizer's GE2E windows, "
        "for the VBx resegmentation",
        "format": FORMAT,
        "arrays_sha256": hashlib.sha256(raw).hexdigest(),
        "windows": {"min_share": args.min_share, "max_other": args.max_other},
        "training_data": {
            "folder": args.train.name,
            "conditions": list(args.conditions),
            "readers": readers(args.train),
            **summary,
        },
        "trained_by": "python -m voxguard.training.diar_plda train",
    }
    (args.out / f"{NAME}.json").write_text(json.dumps(sidecar, indent=2) + "\n")
    print(json.dumps(summary))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m voxguard.training.diar_plda", description=__doc__.split("\n\n")[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    fit_parser = commands.add_parser("train", help="Fit and write the PLDA space.")
    fit_parser.add_argument("--train", type=Path, required=True, help="Training conversations.")
    fit_parser.add_argument("--out", type=Path, required=True, help="Folder for the model.")
    fit_parser.add_argument("--cache", type=Path, default=Path(CACHE))
    fit_parser.add_argument("--conditions", type=condition_list, default=CONDITIONS)
    fit_parser.add_argument("--min-share", type=float, default=0.8)
    fit_parser.add_argument("--max-other", type=float, default=0.05)
    args = parser.parse_args(argv)
    return train(args)


if __name__ == "__main__":
    raise SystemExit(main())
