"""Train the diarizer's learned speaker count (``voxguard.diarization.count``).

Data: synthetic conversations with reference RTTM (``voxguard.evaluation.conversations``)
whose readers are none of the evaluation set's. Each conversation's windows are embedded once
as the diarizer serves them (VAD, GE2E windows; cached under ``--cache``); the features are
read off the affinity the spectral step builds (``clustering.count_features``) and the target
is the reference's number of speakers. A multinomial logistic regression (scikit-learn, on
standardised features) is fitted with its regularisation chosen by cross-validation on the
training set, grouped by conversation (clean, phone and babble hold the same ones); its
coefficients are written as JSON with a sidecar, read at serve time by numpy alone.

    python -m voxguard.training.speaker_count train --train artifacts/diar-count-train \
        --out src/voxguard/models/speaker_count
    python -m voxguard.training.speaker_count counts --set artifacts/diar-dev3

``counts`` prints, per condition, the number of speakers the clustering finds (eigengap, and
the learned count) against the reference's: accuracy and a confusion matrix.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from voxguard.audio.types import FloatArray
from voxguard.diarization.clustering import (
    ClusteringParams,
    cluster_embeddings,
    count_features,
    count_inputs,
)
from voxguard.diarization.count import COEFFICIENTS, COUNT_FEATURES, FEATURE_VERSION, NAME
from voxguard.training.overlap import (
    CONDITIONS,
    condition_list,
    embedded_conversations,
    readers,
    training_parser,
)

C_GRID = (0.01, 0.1, 1.0, 10.0, 100.0)
FOLDS = 5
MODEL_VERSION = "speaker-count-lr-1"
CACHE = "artifacts/speaker-count-features"


@dataclass(frozen=True)
class Conversation:
    """One conversation's window embeddings and its reference number of speakers."""

    name: str  # condition/conv_id
    embeddings: FloatArray
    speakers: int

    @property
    def condition(self) -> str:
        return self.name.split("/")[0]

    @property
    def group(self) -> str:
        """The conversation, whatever its condition (clean, phone and babble share ids)."""
        return self.name.split("/")[1]


def collect(
    set_dir: Path,
    cache: Path,
    conditions: Sequence[str] = CONDITIONS,
    log: Callable[[str], None] | None = None,
) -> list[Conversation]:
    """Every conversation of ``set_dir``'s conditions, embeddings cached as
    ``cache/<condition>/<id>.npz`` (``overlap.embedded_conversations``)."""
    return [
        Conversation(f"{c.condition}/{c.row.audio.stem}", c.embeddings, c.row.speakers)
        for c in embedded_conversations(set_dir, cache, conditions, log or _progress)
    ]


def _progress(message: str) -> None:
    print(message, file=sys.stderr)  # stdout carries the JSON report


def features(conversations: Sequence[Conversation], params: ClusteringParams) -> FloatArray:
    """(conversations, ``COUNT_FEATURES``), as the clustering computes them when serving."""
    rows = []
    for conversation in conversations:
        affinity, limit = count_inputs(conversation.embeddings, params)
        rows.append(count_features(conversation.embeddings, affinity, limit, params.eigengap_share))
    return np.stack(rows)


def _pipeline(c: float) -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=5000))


def cross_validate(x: FloatArray, y: np.ndarray, groups: Sequence[str]) -> dict[float, float]:
    """Mean accuracy over ``FOLDS`` folds grouped by conversation, for each C of ``C_GRID``."""
    from sklearn.model_selection import GroupKFold, cross_val_score

    folds = GroupKFold(n_splits=FOLDS)
    return {
        c: round(float(cross_val_score(_pipeline(c), x, y, groups=groups, cv=folds).mean()), 4)
        for c in C_GRID
    }


def choose_c(scores: dict[float, float], tie: float = 0.01) -> float:
    """The C with the best cross-validated accuracy; within ``tie`` of it, the smallest C (the
    most regularised)."""
    best = max(scores.values())
    return min(c for c, score in scores.items() if score >= best - tie)


def coefficients(model: Any) -> dict[str, Any]:
    """The fitted scaler and logistic regression as plain lists (``count.SpeakerCountModel``)."""
    scaler, regression = model[0], model[-1]
    coef, intercept = regression.coef_, regression.intercept_
    if coef.shape[0] == 1:  # two classes: sklearn keeps one row; softmax needs both
        coef, intercept = np.vstack([-coef / 2, coef / 2]), np.r_[-intercept / 2, intercept / 2]
    return {
        "features": list(COUNT_FEATURES),
        "classes": [int(c) for c in regression.classes_],
        "mean": scaler.mean_.tolist(),
        "scale": scaler.scale_.tolist(),
        "coef": coef.tolist(),
        "intercept": intercept.tolist(),
    }


def confusion(truth: Sequence[int], found: Sequence[int]) -> dict[str, Any]:
    """Accuracy and ``{"true N": {"found M": conversations}}``."""
    table: dict[str, dict[str, int]] = {}
    for t, f in sorted(zip(truth, found, strict=True)):
        row = table.setdefault(f"true {t}", {})
        row[f"found {f}"] = row.get(f"found {f}", 0) + 1
    hits = sum(int(t == f) for t, f in zip(truth, found, strict=True))
    return {"accuracy": round(hits / max(len(truth), 1), 4), "confusion": table}


def train(args: argparse.Namespace) -> int:
    import sklearn

    params = ClusteringParams()
    conversations = collect(args.train, args.cache / args.train.name)
    if len({c.speakers for c in conversations}) < 2:
        print(f"error: fewer than two different numbers of speakers under {args.train}")
        return 2
    x = features(conversations, params)
    y = np.array([c.speakers for c in conversations])
    groups = [c.group for c in conversations]
    scores = cross_validate(x, y, groups)
    chosen = choose_c(scores)
    model = _pipeline(chosen).fit(x, y)
    eigengap = x[:, COUNT_FEATURES.index("eigengap_count_share")].astype(int)
    details = {
        "model": f"StandardScaler + multinomial LogisticRegression(C={chosen})",
        "training_data": {
            "folder": args.train.name,
            "seed": json.loads((args.train / "summary.json").read_text()).get("seed"),
            "conversations": len(conversations),
            "by_condition": {
                c: sum(1 for v in conversations if v.condition == c)
                for c in sorted({v.condition for v in conversations})
            },
            "readers": readers(args.train),
            "note": "synthetic conversations (voxguard.evaluation.conversations) of LibriSpeech "
            "train-clean-100 readers (CC BY 4.0) that are not in the seed-0 evaluation set; "
            "target: the reference's number of speakers (2-4)",
        },
        "metrics": {
            "cv_accuracy_by_c": {str(c): s for c, s in scores.items()},
            "cv_folds": f"{FOLDS}, grouped by conversation",
            "train": confusion(y.tolist(), model.predict(x).tolist()),
            "train_eigengap": confusion(y.tolist(), eigengap.tolist()),
        },
        "provenance": {
            "trained_by": "python -m voxguard.training.speaker_count train",
            "sklearn_version": str(sklearn.__version__),
            "clustering": {
                "prune_share": params.prune_share,
                "eigengap_share": params.eigengap_share,
            },
        },
    }
    write_model(args.out, model, details)
    print(json.dumps(details["metrics"], indent=1))
    return 0


def write_model(out: Path, model: Any, details: dict[str, Any]) -> None:
    """``model``'s coefficients as JSON and its sidecar (what ``count.SpeakerCountModel``
    checks, then ``details``: training data, metrics, provenance)."""
    raw = (json.dumps(coefficients(model), indent=1) + "\n").encode()
    out.mkdir(parents=True, exist_ok=True)
    (out / COEFFICIENTS).write_bytes(raw)
    sidecar = {
        "name": NAME,
        "model_version": MODEL_VERSION,
        "task": "the number of speakers of a recording, from the diarizer's window embeddings",
        "features": list(COUNT_FEATURES),
        "feature_version": FEATURE_VERSION,
        "classes": [int(c) for c in model[-1].classes_],
        "coefficients_sha256": hashlib.sha256(raw).hexdigest(),
        **details,
        "license": "Apache-2.0",
    }
    (out / f"{NAME}.json").write_text(json.dumps(sidecar, indent=2) + "\n")


def counts(args: argparse.Namespace) -> int:
    """The number of speakers the clustering finds, by the eigengap and by the model."""
    conversations = collect(args.set, args.cache / args.set.name, args.conditions)
    eigengap = replace(ClusteringParams(), speaker_count="eigengap")
    learned = replace(ClusteringParams(), speaker_count="learned", count_model=args.model)
    report: dict[str, Any] = {}
    for condition in args.conditions:
        picked = [c for c in conversations if c.condition == condition]
        truth = [c.speakers for c in picked]
        report[condition] = {
            name: confusion(truth, [_found(c.embeddings, p) for c in picked])
            for name, p in (("eigengap", eigengap), ("learned", learned))
        }
    print(json.dumps(report, indent=1))
    return 0


def _found(embeddings: FloatArray, params: ClusteringParams) -> int:
    labels = cluster_embeddings(embeddings, None, params)
    return int(labels.max()) + 1 if labels.size else 0


def main(argv: list[str] | None = None) -> int:
    parser, commands, _ = training_parser(
        "voxguard.training.speaker_count",
        __doc__,
        "speaker count model",
        CACHE,
    )
    report = commands.add_parser("counts", help="Speakers found against the reference's.")
    report.add_argument("--set", type=Path, required=True)
    report.add_argument("--model", default=None, help="Model folder (bundled).")
    report.add_argument("--cache", type=Path, default=Path(CACHE))
    report.add_argument("--conditions", type=condition_list, default=CONDITIONS)
    args = parser.parse_args(argv)
    return train(args) if args.command == "train" else counts(args)


if __name__ == "__main__":
    sys.exit(main())
