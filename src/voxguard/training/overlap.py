"""Train the diarizer's frame detectors (``voxguard.diarization.overlap``): overlapped speech,
and background speech (``--target background``: VAD speech where no reference speaker talks).

Data: synthetic conversations with reference RTTM (``voxguard.evaluation.conversations``)
whose readers are none of the evaluation set's. Each conversation goes through the diarizer
as served (VAD, windows, clustering with the number of speakers estimated); the detector's
features are read off its frame grid and each speech frame is labelled overlapped when two
or more reference speakers talk in it (background: when none does). A small dilated 1-D CNN
(torch, CPU) learns them with the loss on the speech frames only; it is written out as ONNX
by hand (``onnx.helper``: the feature scaling, the convolutions, a sigmoid) with its JSON
sidecar, and checked against torch through onnxruntime.

    python -m voxguard.training.overlap train --train artifacts/diar-train \
        --dev artifacts/diar-dev --out src/voxguard/models/overlap
    python -m voxguard.training.overlap train --target background --train artifacts/diar-train \
        --dev artifacts/diar-dev --out src/voxguard/models/background
    python -m voxguard.training.overlap tune --dev artifacts/diar-dev \
        --thresholds 0.3,0.4,0.5,0.6,0.7
    python -m voxguard.training.overlap tune --dev artifacts/diar-dev \
        --param background_threshold=0.5,0.7 --param min_speaker_similarity=0.4,0.5
    python -m voxguard.training.overlap tune --dev artifacts/diar-dev --grid \
        --param clustering.extra_clusters=1,2 --param clustering.merge_gap=0.04,0.06

``tune`` scores the diarizer on the development set for each setting (and with the defaults)
and prints pooled DER; it is how ``DiarizationParams.overlap_threshold`` (Round 3),
``background_threshold`` / ``min_speaker_similarity`` (Round 4) and the clustering's
``extra_clusters`` / ``merge_gap`` / ``prune_share`` / ``auto_prune_max`` /
``eigengap_share`` (Round 5), ``speaker_count`` (Round 6) and ``overlap_offset`` /
``overlap_pair_s`` (Round 7) are chosen (docs/diarization-experiments/README.md).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import itertools
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from voxguard.audio.types import FloatArray
from voxguard.diarization import Turn
from voxguard.diarization.clustering import ClusteringParams
from voxguard.diarization.overlap import (
    FEATURE_VERSION,
    FEATURES,
    BackgroundDetector,
    OverlapDetector,
    score_features,
)
from voxguard.diarization.pipeline import DiarizationParams, Diarizer
from voxguard.evaluation.diarization import (
    DiarizationScore,
    DiarizationScorer,
    ManifestRow,
    read_manifest,
)
from voxguard.speaker.backend import load_backend
from voxguard.speaker.campplus import CamppEncoder

CONDITIONS = ("clean", "phone", "babble")
CHANNELS = 32
KERNEL = 5
DILATIONS = (1, 2, 4, 8, 16)
HOP_S = 0.01  # the diarizer's frame grid


@dataclass(frozen=True)
class Example:
    """One conversation on the diarizer's frame grid."""

    name: str
    features: FloatArray  # (frames, FEATURES)
    labels: np.ndarray  # (frames,) 1 where the target holds (two or more speakers; none)
    speech: np.ndarray  # (frames,) bool: the frames the loss and the metrics count


def speaker_count(reference: Sequence[Turn], frames: int, hop_s: float) -> np.ndarray:
    """How many reference speakers talk in each frame of the diarizer's grid."""
    count = np.zeros(frames, dtype=np.int32)
    for speaker in {t.speaker for t in reference}:
        mask = np.zeros(frames, dtype=bool)
        for turn in (t for t in reference if t.speaker == speaker):
            mask[int(turn.start_s / hop_s) : int(np.ceil(turn.end_s / hop_s))] = True
        count += mask
    return count


def overlap_labels(reference: Sequence[Turn], frames: int, hop_s: float) -> np.ndarray:
    """1 for each frame where at least two reference speakers talk, on the diarizer's grid."""
    return (speaker_count(reference, frames, hop_s) >= 2).astype(np.uint8)


def background_labels(reference: Sequence[Turn], frames: int, hop_s: float) -> np.ndarray:
    """1 for each frame where no reference speaker talks: where the VAD hears speech there,
    it is background (the babble crowd), not a talker."""
    count = speaker_count(reference, frames, hop_s)
    return np.asarray(count == 0, dtype=np.uint8)


Labeller = Callable[[Sequence[Turn], int, float], np.ndarray]


@dataclass(frozen=True)
class Target:
    """What a detector learns: its labels, and the names its model is shipped under."""

    name: str  # the model folder and file stem under voxguard/models
    labels: Labeller
    model_version: str
    task: str


TARGETS = {
    "overlap": Target(
        "overlap",
        overlap_labels,
        "overlap-cnn-2",
        "overlapped speech (two or more speakers) per 10 ms frame, for diarization",
    ),
    "background": Target(
        "background",
        background_labels,
        "background-cnn-2",
        "background speech per 10 ms frame (VAD speech where no talker of the conversation "
        "talks: a crowd), for diarization",
    ),
}


def conversation_example(
    diarizer: Diarizer,
    audio: Path,
    reference: Sequence[Turn],
    name: str,
    labeller: Labeller = overlap_labels,
) -> Example | None:
    """The detector's features and labels for one conversation; None when the diarizer finds
    fewer than two speakers (no second speaker to attribute, so the detector is not run)."""
    windows = diarizer.windows(diarizer.front_end.analyze(audio), with_acoustic=True)
    if windows.embeddings.shape[0] == 0 or windows.acoustic is None:
        return None
    grid, _ = diarizer.frame_grid(windows)
    if grid.scores.shape[1] < 2:
        return None
    features = np.concatenate([windows.acoustic, score_features(grid.speech, grid.scores)], 1)
    labels = labeller(reference, grid.speech.size, grid.hop_s)
    return Example(name, features.astype(np.float32), labels, grid.speech.copy())


def _store(path: Path, example: Example | None) -> None:
    """``example``'s arrays (no features: None), written whole or not at all, so that a
    collection stopped half-way leaves no torn file."""
    partial = path.with_suffix(".partial.npz")
    if example is None:
        np.savez(partial, features=np.zeros((0, len(FEATURES)), np.float32))
    else:
        np.savez(partial, features=example.features, labels=example.labels, speech=example.speech)
    partial.replace(path)


def cached_rows(
    set_dir: Path, cache: Path, conditions: Sequence[str]
) -> Iterator[tuple[str, ManifestRow, Path]]:
    """Each conversation of ``set_dir``'s conditions (those it has): its condition, its
    manifest row and its cache file ``cache/<condition>/<id>.npz`` (whose folder exists)."""
    for condition in conditions:
        manifest = set_dir / condition / "manifest.csv"
        if not manifest.is_file():
            continue
        (cache / condition).mkdir(parents=True, exist_ok=True)
        for row in read_manifest(manifest):
            yield condition, row, cache / condition / f"{row.audio.stem}.npz"


@dataclass(frozen=True)
class EmbeddedConversation:
    """One conversation's diarizer windows: their GE2E embeddings and first frames."""

    condition: str
    row: ManifestRow
    embeddings: FloatArray  # (windows, dim), L2-normalised
    starts: np.ndarray  # first 10 ms frame of each window
    hop_s: float


def embedded_conversations(
    set_dir: Path,
    cache: Path,
    conditions: Sequence[str],
    log: Callable[[str], None] = print,
) -> Iterator[EmbeddedConversation]:
    """Every conversation of ``set_dir``'s conditions, its windows embedded as the diarizer
    serves them (VAD, GE2E windows) and cached as ``cache/<condition>/<id>.npz`` with the
    audio's sha256 (a rebuilt set is embedded anew; a file is written whole or not at all)."""
    diarizer: Diarizer | None = None
    for condition, row, stored in cached_rows(set_dir, cache, conditions):
        digest = hashlib.sha256(row.audio.read_bytes()).hexdigest()
        found = cached_windows(stored, digest)
        if found is None:
            if diarizer is None:  # the embeddings need neither frame detector
                off = replace(
                    DiarizationParams(), overlap_threshold=None, background_threshold=None
                )
                diarizer = Diarizer(params=off)
            windows = diarizer.windows(diarizer.front_end.analyze(row.audio))
            found = (windows.embeddings, windows.starts, windows.hop_s)
            partial = stored.with_suffix(".partial.npz")
            np.savez(
                partial,
                embeddings=found[0],
                starts=found[1],
                hop_s=found[2],
                audio_sha256=np.array(digest),
            )
            partial.replace(stored)
            log(f"{condition}/{row.audio.stem}: {found[0].shape[0]} windows")
        yield EmbeddedConversation(condition, row, *found)


def cached_windows(stored: Path, digest: str) -> tuple[FloatArray, np.ndarray, float] | None:
    """The (embeddings, window starts, hop) cached for the audio whose sha256 is ``digest``;
    None when there are none, or they were computed from other audio (a set rebuilt
    differently) or by an older cache without the window starts."""
    if not stored.is_file():
        return None
    with np.load(stored) as data:
        if "audio_sha256" not in data or str(data["audio_sha256"]) != digest:
            return None
        if "starts" not in data:
            return None
        return data["embeddings"], data["starts"], float(data["hop_s"])


def collect(
    set_dir: Path,
    diarizer: Diarizer,
    cache: Path,
    conditions: Sequence[str] = CONDITIONS,
    log: Callable[[str], None] = print,
    labeller: Labeller = overlap_labels,
) -> list[Example]:
    """Every conversation of ``set_dir``'s conditions, cached as ``cache/<condition>/*.npz``;
    the labels are ``labeller``'s, from the reference (the cache holds the overlap labels)."""
    examples = []
    for condition, row, stored in cached_rows(set_dir, cache, conditions):
        name = f"{condition}/{row.audio.stem}"
        if stored.is_file():
            with np.load(stored) as data:
                if data["features"].shape[0] == 0:
                    continue
                frames = data["features"].shape[0]
                labels = labeller(row.reference, frames, HOP_S)
                examples.append(Example(name, data["features"], labels, data["speech"]))
            continue
        example = conversation_example(diarizer, row.audio, row.reference, name)
        if example is None:
            _store(stored, None)
            log(f"{name}: fewer than two speakers found, skipped")
            continue
        _store(stored, example)
        labels = labeller(row.reference, example.labels.size, HOP_S)
        example = replace(example, labels=labels)
        examples.append(example)
        log(f"{name}: {example.labels[example.speech].mean():.1%} of speech labelled")
    return examples


# --- the model ------------------------------------------------------------------------------


def _build_model(seed: int = 0) -> Any:
    import torch
    from torch import nn

    torch.manual_seed(seed)  # the same initial weights every run with this seed
    layers: list[nn.Module] = []
    channels = len(FEATURES)
    for dilation in DILATIONS:
        pad = dilation * (KERNEL - 1) // 2
        layers += [nn.Conv1d(channels, CHANNELS, KERNEL, dilation=dilation, padding=pad)]
        layers += [nn.ReLU()]
        channels = CHANNELS
    layers.append(nn.Conv1d(channels, 1, 1))
    return nn.Sequential(*layers)


def _scaling(examples: Sequence[Example]) -> tuple[FloatArray, FloatArray]:
    stacked = np.concatenate([e.features[e.speech] for e in examples])
    mean = stacked.mean(axis=0)
    std = np.maximum(stacked.std(axis=0), 1e-3)
    return mean.astype(np.float32), std.astype(np.float32)


def train_model(
    examples: Sequence[Example],
    epochs: int = 12,
    crop: int = 1000,
    batch: int = 16,
    seed: int = 0,
    log: Callable[[str], None] = print,
) -> tuple[Any, FloatArray, FloatArray]:
    """The CNN and the feature scaling (mean, std) learned from ``examples``."""
    import torch

    torch.set_num_threads(1)
    rng = np.random.default_rng(seed)
    mean, std = _scaling(examples)
    scaled = [((e.features - mean) / std).astype(np.float32) for e in examples]
    model = _build_model(seed)
    optimiser = torch.optim.Adam(model.parameters(), lr=2e-3)
    total = sum(e.features.shape[0] for e in examples)
    steps = max(1, total // (crop * batch))
    loss_fn = torch.nn.BCEWithLogitsLoss(reduction="none")
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, epochs * steps)
    for epoch in range(epochs):
        running = 0.0
        for _ in range(steps):
            xs, ys, ms = [], [], []
            for index in rng.integers(0, len(examples), batch):
                n = scaled[index].shape[0]
                first = int(rng.integers(0, max(1, n - crop)))
                piece = slice(first, first + crop)
                x = np.zeros((crop, len(FEATURES)), np.float32)
                y, m = np.zeros(crop, np.float32), np.zeros(crop, np.float32)
                length = min(crop, n - first)
                x[:length] = scaled[index][piece]
                y[:length] = examples[index].labels[piece]
                m[:length] = examples[index].speech[piece]
                xs.append(x.T)
                ys.append(y)
                ms.append(m)
            logits = model(torch.from_numpy(np.stack(xs)))[:, 0]
            target, mask = torch.from_numpy(np.stack(ys)), torch.from_numpy(np.stack(ms))
            loss = (loss_fn(logits, target) * mask).sum() / mask.sum().clamp(min=1.0)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            running += float(loss.detach())
        log(f"epoch {epoch + 1}/{epochs}: loss {running / steps:.4f}")
    model.eval()
    return model, mean, std


def merged_ensemble(models: Sequence[Any]) -> Any:
    """One network equal to the mean of ``models``' logits: the members side by side (their
    first layers stacked, the later ones as grouped convolutions, one group per member), the
    last 1x1 layer averaging them. Every member has ``_build_model``'s layers; a single member
    is returned as it is."""
    import torch
    from torch import nn

    if len(models) == 1:
        return models[0]
    count = len(models)
    convs = [[layer for layer in m if isinstance(layer, nn.Conv1d)] for m in models]
    layers: list[nn.Module] = []
    with torch.no_grad():
        for depth, first in enumerate(convs[0]):
            weights = [c[depth].weight for c in convs]
            biases = torch.stack([c[depth].bias for c in convs])  # type: ignore[misc]
            last = depth == len(convs[0]) - 1
            merged = nn.Conv1d(
                first.in_channels * (1 if depth == 0 else count),
                first.out_channels * (1 if last else count),
                first.kernel_size[0],
                dilation=first.dilation[0],
                padding=int(first.padding[0]),
                groups=1 if depth == 0 or last else count,
            )
            if last:  # (out, count * in): every member's channels, their logits averaged
                merged.weight.copy_(torch.cat(weights, dim=1) / count)
                merged.bias.copy_(biases.mean(dim=0))  # type: ignore[union-attr]
            else:  # (count * out, in, kernel): the members stacked, or one group each
                merged.weight.copy_(torch.cat(weights))
                merged.bias.copy_(biases.reshape(-1))  # type: ignore[union-attr]
            layers.append(merged)
            if not last:
                layers.append(nn.ReLU())
    return nn.Sequential(*layers).eval()


def predict_torch(
    model: Any, mean: FloatArray, std: FloatArray, features: FloatArray
) -> FloatArray:
    import torch

    x = torch.from_numpy((((features - mean) / std).T[None]).astype(np.float32))
    with torch.no_grad():
        out = torch.sigmoid(model(x))[0, 0].numpy()
    result: FloatArray = out.astype(np.float32)
    return result


def to_onnx(model: Any, mean: FloatArray, std: FloatArray, output: str = "overlap") -> bytes:
    """The CNN as an ONNX graph: (features - mean) / std, the convolutions, a sigmoid.
    Input ``features`` (1, FEATURES, frames); output ``output`` (1, 1, frames)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    from torch import nn

    shape = [1, len(FEATURES), 1]
    initializers = [
        numpy_helper.from_array(mean.reshape(shape).astype(np.float32), "mean"),
        numpy_helper.from_array(std.reshape(shape).astype(np.float32), "std"),
    ]
    nodes = [
        helper.make_node("Sub", ["features", "mean"], ["centred"]),
        helper.make_node("Div", ["centred", "std"], ["x0"]),
    ]
    current, index = "x0", 0
    for layer in model:
        if isinstance(layer, nn.Conv1d):
            index += 1
            weight, bias = f"w{index}", f"b{index}"
            assert layer.bias is not None  # every Conv1d here has one
            initializers += [
                numpy_helper.from_array(layer.weight.detach().numpy().astype(np.float32), weight),
                numpy_helper.from_array(layer.bias.detach().numpy().astype(np.float32), bias),
            ]
            pad = int(layer.padding[0])
            out = f"conv{index}"
            nodes.append(
                helper.make_node(
                    "Conv",
                    [current, weight, bias],
                    [out],
                    dilations=[int(layer.dilation[0])],
                    group=int(layer.groups),
                    kernel_shape=[int(layer.kernel_size[0])],
                    pads=[pad, pad],
                )
            )
            current = out
        elif isinstance(layer, nn.ReLU):
            nodes.append(helper.make_node("Relu", [current], [f"{current}_relu"]))
            current = f"{current}_relu"
    nodes.append(helper.make_node("Sigmoid", [current], [output]))
    graph = helper.make_graph(
        nodes,
        f"{output}_detector",
        [
            helper.make_tensor_value_info(
                "features", TensorProto.FLOAT, [1, len(FEATURES), "frames"]
            )
        ],
        [helper.make_tensor_value_info(output, TensorProto.FLOAT, [1, 1, "frames"])],
        initializers,
    )
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    proto.ir_version = 8
    onnx.checker.check_model(proto)
    return bytes(proto.SerializeToString())


# --- metrics --------------------------------------------------------------------------------


def frame_metrics(
    examples: Sequence[Example], probabilities: Sequence[FloatArray], threshold: float = 0.5
) -> dict[str, float]:
    """Over the speech frames: the share labelled 1 (overlapped, or background), ROC AUC, and
    precision / recall of ``>= threshold``."""
    from sklearn.metrics import roc_auc_score

    labels = np.concatenate([e.labels[e.speech] for e in examples]).astype(bool)
    scores = np.concatenate([p[e.speech] for e, p in zip(examples, probabilities, strict=True)])
    called = scores >= threshold
    both = 0 < labels.sum() < labels.size
    hits = float(np.sum(called & labels))
    return {
        "speech_frames": int(labels.size),
        "positive_share": round(float(labels.mean()), 4),
        "auc": round(float(roc_auc_score(labels, scores)), 4) if both else 0.0,
        "precision": round(hits / max(float(called.sum()), 1.0), 4),
        "recall": round(hits / max(float(labels.sum()), 1.0), 4),
    }


def _by_condition(
    examples: Sequence[Example], probabilities: Sequence[FloatArray]
) -> dict[str, dict[str, float]]:
    out = {}
    for condition in sorted({e.name.split("/")[0] for e in examples}):
        picked = [i for i, e in enumerate(examples) if e.name.startswith(condition + "/")]
        out[condition] = frame_metrics(
            [examples[i] for i in picked], [probabilities[i] for i in picked]
        )
    return out


# --- commands -------------------------------------------------------------------------------


def readers(set_dir: Path) -> list[str]:
    """The readers a conversation set uses (its ``speakers.csv``; none when it has none)."""
    import csv

    table = set_dir / "speakers.csv"
    if not table.is_file():
        return []
    with table.open(newline="") as handle:
        return sorted({row["speaker"] for row in csv.DictReader(handle)})


def _set_summary(set_dir: Path, examples: Sequence[Example]) -> dict[str, Any]:
    summary = json.loads((set_dir / "summary.json").read_text())
    return {
        "folder": set_dir.name,
        "seed": summary.get("seed"),
        "conversations": len(examples),
        "speech_frames": int(sum(int(e.speech.sum()) for e in examples)),
        "readers": readers(set_dir),
    }


def train(args: argparse.Namespace) -> int:
    import torch

    target = TARGETS[args.target]
    # The features need neither detector (so either can be retrained without the other).
    diarizer = Diarizer(
        params=replace(DiarizationParams(), overlap_threshold=None, background_threshold=None)
    )
    training = collect(args.train, diarizer, args.cache / args.train.name, labeller=target.labels)
    development = collect(args.dev, diarizer, args.cache / args.dev.name, labeller=target.labels)
    if not training:
        print(f"error: no conversations with two or more speakers under {args.train}")
        return 2
    members = [train_model(training, epochs=args.epochs, seed=seed) for seed in args.seeds]
    model, (_, mean, std) = merged_ensemble([m[0] for m in members]), members[0]
    model_bytes = to_onnx(model, mean, std, output=target.name)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{target.name}.onnx").write_bytes(model_bytes)
    from voxguard.models import cpu_session

    session = cpu_session(model_bytes)
    probabilities = []
    max_diff = 0.0
    for example in development:
        batch = np.ascontiguousarray(example.features.T[None])
        (out,) = session.run(None, {"features": batch})
        probabilities.append(np.asarray(out).reshape(-1))
        reference = predict_torch(model, mean, std, example.features)
        max_diff = max(max_diff, float(np.abs(reference - probabilities[-1]).max()))
    train_probabilities = [
        predict_torch(model, mean, std, example.features) for example in training
    ]
    train_readers = set(readers(args.train))
    sidecar = {
        "name": target.name,
        "model_version": target.model_version,
        "task": target.task,
        "input": {"name": "features", "shape": [1, len(FEATURES), "frames"], "features": FEATURES},
        "output": {"name": target.name, "shape": [1, 1, "frames"], "meaning": "probability"},
        "feature_version": FEATURE_VERSION,
        "sample_rate": 16000,
        "hop_s": 0.01,
        "architecture": {
            "layers": "dilated Conv1d + ReLU, then a 1x1 Conv1d and a sigmoid",
            "channels": CHANNELS,
            "kernel": KERNEL,
            "dilations": list(DILATIONS),
            "receptive_field_frames": 1 + (KERNEL - 1) * sum(DILATIONS),
            # several training seeds: one member per seed, their logits averaged (Round 18)
            "ensemble_seeds": list(args.seeds),
            "parameters_per_member": int(sum(p.numel() for p in members[0][0].parameters())),
            "parameters": int(sum(p.numel() for m in members for p in m[0].parameters())),
        },
        "training_data": {
            "train": _set_summary(args.train, training),
            "development": _set_summary(args.dev, development),
            "note": "synthetic conversations (voxguard.evaluation.conversations) of LibriSpeech "
            "train-clean-100 readers (CC BY 4.0) that are not in the seed-0 evaluation set; "
            "labels from the reference RTTM; features from the diarizer with the number of "
            "speakers estimated",
            "shared_readers_with_development": len(train_readers & set(readers(args.dev))),
        },
        "metrics": {
            "train": frame_metrics(training, train_probabilities),
            "development": frame_metrics(development, probabilities),
            "development_by_condition": _by_condition(development, probabilities),
        },
        "onnx_sha256": hashlib.sha256(model_bytes).hexdigest(),
        "export_max_abs_diff_vs_torch": max_diff,
        "provenance": {
            "trained_by": f"python -m voxguard.training.overlap train --target {target.name}",
            "torch_version": str(torch.__version__),
            "epochs": args.epochs,
            "onnx_opset": 17,
        },
        "license": "Apache-2.0",
    }
    (args.out / f"{target.name}.json").write_text(json.dumps(sidecar, indent=2) + "\n")
    print(json.dumps(sidecar["metrics"], indent=1))
    return 0


Setting = dict[str, float | str | bool | None]


def _value(name: str, text: str) -> float | str | bool | None:
    """``text`` as the type of the field's default ('off' is None): an int field gets an int,
    a text field (``clustering.speaker_count``) the text, a yes/no field True or False."""
    if text == "off":
        return None
    default: object = DiarizationParams()
    owner: object = default
    for part in name.split("."):
        owner, default = default, getattr(default, part)
    fields = {f.name: f for f in dataclasses.fields(owner)}  # type: ignore[arg-type]
    annotation = str(fields[name.rpartition(".")[2]].type)
    if isinstance(default, str) or annotation.startswith("str"):
        return text
    if isinstance(default, bool):
        if text not in ("true", "false"):
            raise SystemExit(f"--param {name}={text}: expected true or false")
        return text == "true"
    return int(text) if isinstance(default, int) else float(text)


def _known(name: str) -> bool:
    """A DiarizationParams field, or ``clustering.NAME`` for a ClusteringParams one."""
    head, _, tail = name.partition(".")
    if not tail:
        return head in DiarizationParams.__dataclass_fields__
    return head == "clustering" and tail in ClusteringParams.__dataclass_fields__


def _params(setting: Setting) -> DiarizationParams:
    plain = {k: v for k, v in setting.items() if "." not in k}
    nested = {k.partition(".")[2]: v for k, v in setting.items() if "." in k}
    params = replace(DiarizationParams(), **plain)  # type: ignore[arg-type]
    if nested:
        params = replace(params, clustering=replace(params.clustering, **nested))  # type: ignore[arg-type]
    return params


def _settings(args: argparse.Namespace) -> list[Setting]:
    """The parameter changes to score: none (the defaults), then each ``--param`` value alone
    (with ``--grid``: every combination of them); without ``--param``, the overlap detector
    off and at each of ``--thresholds``."""
    settings: list[Setting] = [{}]
    if not args.param:
        settings.append({"overlap_threshold": None})
        settings += [{"overlap_threshold": float(t)} for t in args.thresholds.split(",")]
        return settings
    axes: list[list[Setting]] = []
    for item in args.param:
        name, _, values = item.partition("=")
        if not _known(name) or not values:
            raise SystemExit(
                f"--param {item!r}: expected NAME=V1,V2 (a DiarizationParams field, or "
                "clustering.NAME for a ClusteringParams one)"
            )
        axes.append([{name: _value(name, v)} for v in values.split(",")])
    if not getattr(args, "grid", False):
        return settings + [s for axis in axes for s in axis]
    for combination in itertools.product(*axes):
        settings.append({k: v for part in combination for k, v in part.items()})
    return settings


def _merged(scorers: Sequence[DiarizationScorer]) -> DiarizationScore:
    """The seconds of every conversation of ``scorers`` together."""
    totals = [s.total for s in scorers]
    return DiarizationScore(
        speech_s=sum(t.speech_s for t in totals),
        missed_s=sum(t.missed_s for t in totals),
        false_alarm_s=sum(t.false_alarm_s for t in totals),
        confusion_s=sum(t.confusion_s for t in totals),
    )


def _pooled(scorers: Sequence[DiarizationScorer]) -> float:
    """DER % over every conversation of ``scorers``."""
    return round(100 * _merged(scorers).der, 2)


def tune(args: argparse.Namespace) -> int:
    """Pooled and per-condition DER on the development set(s), with the defaults and each
    setting; the windows of each conversation are embedded once. With more than one ``--dev``
    the conditions are pooled over the sets, and each set's own figures are given too."""
    base = Diarizer()
    settings = _settings(args)
    overlap = OverlapDetector(args.model) if args.model else OverlapDetector()
    background = None
    if any(s.get("background_threshold") is not None for s in settings):
        background = (
            BackgroundDetector(args.background_model)
            if args.background_model
            else BackgroundDetector()
        )
    backend = load_backend(args.backend)  # None: the bundled one, read once for every setting
    campplus = None
    if any(s.get("cluster_embedder") is not None for s in settings):
        campplus = CamppEncoder()  # one session for every setting that clusters on CAM++
    variants = [
        Diarizer(
            encoder=base.encoder,
            front_end=base.front_end,
            params=_params(setting),
            overlap_detector=overlap,
            background_detector=background,
            speaker_backend=backend,
            campplus=campplus,
        )
        for setting in settings
    ]

    # The CAM++ windows are embedded once per conversation for each way of embedding them.
    def embedding_key(diarizer: Diarizer) -> int | None:
        if diarizer.campplus is None:
            return None
        return diarizer.params.cluster_context_frames

    sets = args.dev
    scorers = [
        {(d, c): DiarizationScorer() for d in sets for c in args.conditions} for _ in settings
    ]
    for dev in sets:
        for condition in args.conditions:
            for row in read_manifest(dev / condition / "manifest.csv"):
                analyzed = base.front_end.analyze(row.audio)
                windows = base.windows(analyzed, with_acoustic=True)
                extra: dict[int | None, FloatArray | None] = {None: None}
                count = row.speakers if args.num_speakers_given else None
                for diarizer, scorer in zip(variants, scorers, strict=True):
                    key = embedding_key(diarizer)
                    if key not in extra and windows.starts.size:
                        extra[key] = diarizer.clustering_embeddings(
                            analyzed.clip.samples, windows.starts
                        )
                    seen = replace(windows, clustering_embeddings=extra.get(key))
                    turns = diarizer.segment(seen, count).turns if windows.starts.size else []
                    scorer[dev, condition].add(
                        row.reference, turns, windows.duration_s, row.audio.stem
                    )
    results = []
    for setting, scorer in zip(settings, scorers, strict=True):
        result: dict[str, Any] = {
            "setting": setting or "defaults",
            "pooled_der": _pooled(list(scorer.values())),
        }
        for c in args.conditions:
            result[c] = _merged([scorer[d, c] for d in sets]).to_dict()
        if len(sets) > 1:
            result["per_set"] = {
                str(d): {
                    "pooled_der": _pooled([scorer[d, c] for c in args.conditions]),
                    **{c: scorer[d, c].total.to_dict() for c in args.conditions},
                }
                for d in sets
            }
        results.append(result)
    print(json.dumps(results, indent=1))
    return 0


def condition_list(text: str) -> tuple[str, ...]:
    """``--conditions clean,phone``."""
    return tuple(text.split(","))


def training_parser(
    module: str, doc: str, what: str, cache: str
) -> tuple[argparse.ArgumentParser, Any, argparse.ArgumentParser]:
    """A diarization training command's parser, its sub-commands, and the ``train`` one with
    ``--train``, ``--out`` and ``--cache`` (``what``: the model it trains)."""
    parser = argparse.ArgumentParser(prog=f"python -m {module}", description=doc.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    fit = commands.add_parser("train", help=f"Train and export the {what}.")
    fit.add_argument("--train", type=Path, required=True, help="Training conversations.")
    fit.add_argument("--out", type=Path, required=True, help="Folder for the model files.")
    fit.add_argument("--cache", type=Path, default=Path(cache))
    return parser, commands, fit


def main(argv: list[str] | None = None) -> int:
    parser, commands, fit = training_parser(
        "voxguard.training.overlap", __doc__, "detector", "artifacts/overlap-features"
    )
    fit.add_argument("--dev", type=Path, required=True, help="Development conversations.")
    fit.add_argument("--epochs", type=int, default=12)
    fit.add_argument(
        "--seeds",
        type=lambda text: [int(v) for v in text.split(",")],
        default=[0],
        help="Training seeds, e.g. 0,1,2: one network per seed, their logits averaged.",
    )
    fit.add_argument("--target", choices=sorted(TARGETS), default="overlap")
    search = commands.add_parser("tune", help="Development DER per setting.")
    search.add_argument(
        "--dev",
        type=Path,
        action="append",
        required=True,
        help="Development conversations; repeat to pool several sets.",
    )
    search.add_argument("--model", type=Path, default=None, help="Model folder (bundled).")
    search.add_argument(
        "--background-model", type=Path, default=None, help="Background model folder (bundled)."
    )
    search.add_argument(
        "--backend",
        type=Path,
        default=None,
        help="Speaker back end folder (backend.json, backend.npz) for every setting (bundled).",
    )
    search.add_argument("--thresholds", default="0.3,0.4,0.5,0.6,0.7")
    search.add_argument(
        "--param",
        action="append",
        default=[],
        help="NAME=V1,V2 (a DiarizationParams field, or clustering.NAME; 'off' is None); "
        "repeatable. Replaces --thresholds.",
    )
    search.add_argument(
        "--grid", action="store_true", help="Score every combination of the --param values."
    )
    search.add_argument("--conditions", type=condition_list, default=CONDITIONS)
    search.add_argument("--num-speakers-given", action="store_true")
    args = parser.parse_args(argv)
    return train(args) if args.command == "train" else tune(args)


if __name__ == "__main__":
    sys.exit(main())
