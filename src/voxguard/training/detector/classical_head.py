"""Fit, test and export the classical-TTS head (``voxguard.spoof.classical_head``).

    python -m voxguard.training.detector.classical_head featurise --corpus DIR \\
        --diar-labels artifacts/diar/tts/labels.csv --work artifacts/classical-head
    python -m voxguard.training.detector.classical_head loeo --work artifacts/classical-head
    python -m voxguard.training.detector.classical_head fit --work artifacts/classical-head \\
        --model-dir src/voxguard/models/spoof

The recipe and the decision rule: docs/models/experiments/2026-12-06-classical-tts-head.md.
A standardised logistic regression on each window's spectral statistics; each engine weighs
the same, and genuine windows as much as all TTS windows together. Its calibration is fitted
on out-of-fold logits (genuine units grouped by reader); each calibration block's gate is the
highest 99.5th percentile of out-of-fold genuine logits over the channels routed to it.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

from voxguard.audio.types import CHANNELS, Channel
from voxguard.spoof.classical_head import (
    ClassicalHeadSpec,
    fuse,
    gated_probability,
)
from voxguard.training.demopages.guarding import DEFAULT_GUARD_DIR
from voxguard.training.detector.classical_data import (
    ENGINES,
    GENUINE,
    TEST_COPY,
    TRAIN_COPIES,
    Features,
    diarization_readers,
    featurise,
    select_clips,
)
from voxguard.training.detector.models import LinearModel, fit_stats

HEAD_FILE = "classical_tts_head.onnx"
C = 0.05
FOLDS = 5
GATE_QUANTILE = 0.995
MIN_GATE_WINDOWS = 20
FEATURES_FILE = "features.npz"
FIT_READERS_FILE = "fit_readers.txt"


@dataclass
class FittedHead:
    model: LinearModel
    scale: float
    offset: float
    gates: dict[str, float]
    gate_table: dict[str, dict[str, Any]] = field(default_factory=dict)

    def spec(self, model_file: str = HEAD_FILE, sha256: str = "") -> ClassicalHeadSpec:
        return ClassicalHeadSpec(
            model_file=model_file,
            sha256=sha256,
            input_name="stats",
            input_dims=int(self.model.mean.size),
            output_name="logit",
            scale=self.scale,
            offset=self.offset,
            gates=dict(self.gates),
        )


def window_weights(engines: np.ndarray) -> np.ndarray:
    """Genuine windows weigh as much as all TTS windows; each engine the same; mean 1."""
    weights = np.zeros(engines.size)
    tts = sorted(set(engines.tolist()) - {GENUINE})
    for engine in [GENUINE, *tts]:
        mine = engines == engine
        share = 0.5 if engine == GENUINE else 0.5 / len(tts)
        weights[mine] = share / max(int(mine.sum()), 1)
    return weights * weights.size / weights.sum()


def _fold_of_groups(groups: np.ndarray, seed: int = 0) -> dict[str, int]:
    unique = sorted(set(groups.tolist()))
    order = np.random.default_rng(seed).permutation(len(unique))
    return {unique[int(i)]: rank % FOLDS for rank, i in enumerate(order)}


def _fit(features: Features, windows: np.ndarray) -> LinearModel:
    engines = features.view_engine[features.window_view[windows]]
    labels = (engines != GENUINE).astype(np.int64)
    return fit_stats(features.stats[windows], labels, C, window_weights(engines))


def fit_head(features: Features, usable: np.ndarray) -> FittedHead:
    """The head fitted on the ``usable`` views: training copies of both classes, calibration
    on out-of-fold logits, gates on out-of-fold logits of every genuine copy."""
    view_of = features.window_view
    train_view = usable & np.isin(features.view_copy, TRAIN_COPIES)
    genuine_view = usable & (features.view_engine == GENUINE)
    train, scored = train_view[view_of], (train_view | genuine_view)[view_of]
    groups = features.view_group[view_of]
    fold_of = _fold_of_groups(groups[scored])
    folds = np.array([fold_of.get(g, -1) for g in groups])
    oof = np.full(view_of.size, np.nan)
    for fold in range(FOLDS):
        held = scored & (folds == fold)
        model = _fit(features, train & (folds != fold))
        oof[held] = model.logit(features.stats[held])
    labels = features.view_label[view_of]
    calibration = LogisticRegression(class_weight="balanced", C=1e4, max_iter=1000)
    calibration.fit(oof[train][:, None], labels[train])
    gates, table = _gates(features, oof, genuine_view[view_of])
    return FittedHead(
        model=_fit(features, train),
        scale=float(calibration.coef_[0, 0]),
        offset=float(calibration.intercept_[0]),
        gates=gates,
        gate_table=table,
    )


def _gates(
    features: Features, oof: np.ndarray, genuine: np.ndarray
) -> tuple[dict[str, float], dict[str, dict[str, Any]]]:
    """Each block's gate: the highest 99.5th percentile of out-of-fold genuine logits over
    its channels (with at least MIN_GATE_WINDOWS windows routed to it) and its pool."""
    view_of = features.window_view
    block = features.view_channel[view_of]
    copy = np.char.replace(features.view_copy[view_of].astype(str), "aug2", "aug1")
    gates: dict[str, float] = {}
    table: dict[str, dict[str, Any]] = {}
    for name in CHANNELS:
        mine = genuine & (block == name)
        candidates = {"pooled": mine}
        candidates |= {str(c): mine & (copy == c) for c in np.unique(copy[mine])}
        levels = {
            key: float(np.quantile(oof[where], GATE_QUANTILE))
            for key, where in candidates.items()
            if int(where.sum()) >= MIN_GATE_WINDOWS
        }
        gates[name] = max(levels.values()) if levels else float(np.max(oof[genuine]))
        table[name] = {"windows": int(mine.sum()), "quantiles": levels, "gate": gates[name]}
    return gates, table


def fused_files(
    features: Features, views: np.ndarray, head: FittedHead, detector: Any
) -> list[dict[str, Any]]:
    """Each selected view scored as the detector scores a file, without and with the head."""
    spec = head.spec()
    logits = np.full(features.window_view.size, np.nan)
    selected = views[features.window_view]
    logits[selected] = head.model.logit(features.stats[selected])
    rows = []
    for view in np.flatnonzero(views):
        windows = features.window_view == view
        channel: Channel = features.view_channel[view]
        short = bool(features.view_short[view])
        main_logits = features.main_logits[windows]
        main = float(detector.calibrate(float(main_logits.mean()), channel, short))
        head_p = float(gated_probability(spec, float(logits[windows].mean()), channel))
        threshold = detector.threshold_for(channel, short)
        win_main = detector.calibrate(main_logits, channel, short)
        win_fused = fuse(win_main, gated_probability(spec, logits[windows], channel))
        rows.append(
            {
                "path": str(features.view_path[view]),
                "engine": str(features.view_engine[view]),
                "copy": str(features.view_copy[view]),
                "channel": channel,
                "main": main,
                "fused": float(fuse(main, head_p)),
                "threshold": threshold,
                "windows": int(windows.sum()),
                "windows_flagged_main": int((win_main >= threshold).sum()),
                "windows_flagged_fused": int((win_fused >= threshold).sum()),
            }
        )
    return rows


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    if not rows:
        return {"files": 0}
    main = np.array([r["main"] >= r["threshold"] for r in rows])
    fused = np.array([r["fused"] >= r["threshold"] for r in rows])
    windows = sum(r["windows"] for r in rows)
    return {
        "files": len(rows),
        "detected_without_head": round(float(main.mean()), 4),
        "detected_with_head": round(float(fused.mean()), 4),
        "windows_flagged_without_head": round(
            sum(r["windows_flagged_main"] for r in rows) / windows, 4
        ),
        "windows_flagged_with_head": round(
            sum(r["windows_flagged_fused"] for r in rows) / windows, 4
        ),
    }


def leave_one_engine_out(features: Features, detector: Any) -> dict[str, Any]:
    """Each engine held out: the head fitted on the others, its clips scored clean and
    through AMR-NB, fused with the main model at the detector's thresholds."""
    report: dict[str, Any] = {}
    for engine in ENGINES:
        if not (features.view_engine == engine).any():
            continue
        head = fit_head(features, features.view_engine != engine)
        fold: dict[str, Any] = {"gates": head.gates, "scale": head.scale, "offset": head.offset}
        for copy in ("clean", TEST_COPY):
            views = (features.view_engine == engine) & (features.view_copy == copy)
            fold[copy] = summarise(fused_files(features, views, head, detector))
        report[engine] = fold
        print(f"{engine}: {json.dumps(fold)}", file=sys.stderr)
    return report


def _featurise(args: argparse.Namespace) -> None:
    excluded = diarization_readers(args.diar_labels)
    clips, readers, left_out = select_clips(args.corpus, excluded)
    print(f"{len(clips)} clips; {len(readers)} fit readers; left out: {dict(left_out)}")
    features, dropped = featurise(
        clips,
        args.jobs,
        args.guard,
        progress=lambda done, total: (
            print(f"{done}/{total}", file=sys.stderr) if done % 100 == 0 or done == total else None
        ),
    )
    args.work.mkdir(parents=True, exist_ok=True)
    features.save(args.work / FEATURES_FILE)
    (args.work / FIT_READERS_FILE).write_text("".join(f"{r}\n" for r in readers))
    by_engine: dict[str, int] = {}
    for clip in clips:
        if str(clip.path) in dropped:
            by_engine[clip.engine] = by_engine.get(clip.engine, 0) + 1
    report = {
        "clips": len(clips),
        "clips_per_engine": {e: sum(c.engine == e for c in clips) for e in (GENUINE, *ENGINES)},
        "fit_readers": len(readers),
        "diarization_readers_excluded": sorted(excluded),
        "left_out": dict(left_out),
        "guard_dropped": by_engine,
        "guard_dropped_clips": dropped,
        "views": int(features.view_path.size),
        "windows": int(features.window_view.size),
    }
    (args.work / "featurise.json").write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps({k: v for k, v in report.items() if k != "diarization_readers_excluded"}))


def _loeo(args: argparse.Namespace) -> None:
    from voxguard.spoof import SpoofDetector

    features = Features.load(args.work / FEATURES_FILE)
    report = leave_one_engine_out(features, SpoofDetector(classical_head=False))
    (args.work / "loeo.json").write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report, indent=1))


def _fit_and_install(args: argparse.Namespace) -> None:
    from voxguard.training.detector.classical_export import install_head

    features = Features.load(args.work / FEATURES_FILE)
    head = fit_head(features, np.ones(features.view_path.size, dtype=bool))
    views = features.view_copy
    engines = sorted(set(features.view_engine.tolist()) - {GENUINE})
    extra = {
        "architecture": "standardised logistic regression (C 0.05) on the 892 spectral "
        "statistics of each window; each engine weighs the same, genuine windows as much as "
        "all TTS windows",
        "training_data": {
            "engines": engines,
            "clips": {
                e: int(((features.view_engine == e) & (views == "clean")).sum())
                for e in [GENUINE, *engines]
            },
            "voices_left_out": "every voice built from CMU ARCTIC speakers (RHVoice; Flite "
            "awb, rms, slt; Festival's HTS slt) and the diarization tts set's espeak-ng voices",
            "copies": "clean and two random_channel copies per clip, both classes",
            "genuine": "LibriSpeech units of the readers in fit_readers.txt (the first 50 "
            "by hash order, none heard in the diarization tts set); FSDD and demos never",
            "windows": int(np.isin(views, TRAIN_COPIES)[features.window_view].sum()),
        },
        "gates_fitted_on": "out-of-fold window logits (5 folds by reader) of the fit "
        "readers' units, clean, through two random channels and every TEST_CHANNELS channel, "
        f"routed to their block: the highest {GATE_QUANTILE:g} quantile over the block's "
        f"channels (at least {MIN_GATE_WINDOWS} windows) and its pool",
        "gate_table": head.gate_table,
        "scope": "engines it was fitted on (see training_data.engines), on voices and "
        "sentences it never heard; not a detector of unseen engines (leave_one_engine_out). "
        "Silent on short speech (under the short-speech block's 2 s)",
        "experiment": "docs/models/experiments/2026-12-06-classical-tts-head-v2.md",
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if args.loeo is not None and args.loeo.is_file():
        extra["metrics"] = {"leave_one_engine_out": json.loads(args.loeo.read_text())}
    path = install_head(head, args.model_dir, args.out or args.model_dir, extra)
    print(f"wrote the head into {path}: gates {head.gates}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    commands = ap.add_subparsers(dest="command", required=True)
    feats = commands.add_parser("featurise", help="guard, split and score the corpus clips")
    feats.add_argument("--corpus", type=Path, required=True)
    feats.add_argument(
        "--diar-labels",
        type=Path,
        required=True,
        help="labels.csv of the diarization tts set: its human readers are never fitted on",
    )
    feats.add_argument("--guard", type=Path, default=DEFAULT_GUARD_DIR)
    feats.add_argument("--jobs", type=int, default=2)
    for command in (feats, commands.add_parser("loeo", help="leave one engine out")):
        command.add_argument("--work", type=Path, required=True)
    fit = commands.add_parser("fit", help="fit on every engine and install next to the model")
    fit.add_argument("--work", type=Path, required=True)
    fit.add_argument("--model-dir", type=Path, required=True)
    fit.add_argument("--out", type=Path, help="another folder (default: --model-dir itself)")
    fit.add_argument("--loeo", type=Path, help="loeo.json, recorded in the sidecar")
    args = ap.parse_args(argv)
    {"featurise": _featurise, "loeo": _loeo, "fit": _fit_and_install}[args.command](args)


if __name__ == "__main__":
    main()
