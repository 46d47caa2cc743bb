"""Train the spoof detector and export it (ONNX + sidecar) in one command.

    python -m voxguard.training.detector.vocoded --demos ../shared/data/demos \
        --out artifacts/vocoded
    python -m voxguard.training.detector.train --demos ../shared/data/demos \
        --vocoded artifacts/vocoded --cache artifacts/cache_demos_vocoded.npz \
        --out src/voxguard/models/spoof

(``make spoof-model`` runs both. ``--vocoded``: HiFi-GAN copies of the demo genuine clips,
trained on as spoofs; a fold never trains on copies of the clips it holds out.
``--librispeech`` and ``--corpus`` add more data; both made the held-out demo result worse
for the shipped approach, see the model card.)

``--protocol P --fold NAME`` exports the model of one fold of a protocol instead (trained
without that fold's held-out clips), for ``voxguard eval cm --model-dir``;
``voxguard.training.detector.reproduce`` does this for every fold.

Steps: featurise every clip through the serving front end (cached in ``--cache``); run the
leave-one-source-repository-out protocol on the demo pages once, each fold model scoring its
held-out clips clean, through phone lines, through MP3 and a low-pass (band-limited) and as
short speech excerpts (cached under ``--phone-lines``); fit the four logistic calibrations
(wideband, phone line, band-limited, short speech) on those out-of-fold scores; train the
final model on all the data; export it with a sidecar holding the feature parameters,
calibrations, data summary and the measured out-of-fold metrics.

``--calibrate-on sources-kfold`` fits the wideband calibration (and the recorded operating
points) on the out-of-fold scores of every demo-page source (the demos and the real-world
corpus, ``protocols``' sources-kfold) instead of the 11 demo repositories alone.

``--recalibrate band_limited`` (any of the extra calibration blocks) refits only the named
blocks for the model already in ``--out`` from such a pass, leaving its ONNX file and other
blocks untouched: a calibration added to the recipe reaches the bundled model without
retraining it (the blocks come from fold models of this code's recipe, as they always do).
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import sys
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from scipy.optimize import minimize_scalar
from scipy.special import expit
from sklearn.linear_model import LogisticRegression

from voxguard import __version__
from voxguard.evaluation.metrics import cllr, eer, min_dcf, rates_at, roc_auc
from voxguard.spoof.features import FeatureParams
from voxguard.spoof.sidecar import load_sidecar
from voxguard.training.detector.approaches import (
    APPROACHES,
    ARCHITECTURES,
    fit_approach,
    window_logits,
)
from voxguard.training.detector.augment import TEST_CHANNELS
from voxguard.training.detector.data import (
    Clip,
    FeatureCache,
    add_source_arguments,
    build_cache,
    demo_clips,
    ensure_cache,
    source_group,
)
from voxguard.training.detector.encoder import load_whisper_prefix
from voxguard.training.detector.export import SIDECAR_FILE, export
from voxguard.training.detector.models import Detector, FusionEnsemble, FusionModel
from voxguard.training.detector.protocols import (
    PROTOCOLS,
    clip_means,
    ensure_features,
    folds_for,
    make_scorers,
    run_protocol,
    score_rows,
    scored_windows,
    split_prefixes,
    training_windows,
)

AUGMENTATION = (
    "one copy per clip through 1-2 random channel effects (band limit, noise, reverberation, "
    "MP3/Opus round trip, 8 kHz phone line through AMR-NB, G.711 or G.726), both classes alike"
)


# A calibration must not invert its detector. When the scores it is fitted on rank genuine
# above spoof (a model whose ranking does not carry over to other sources), the honest reading
# is "no usable evidence", not "the opposite evidence": the slope is floored near zero, so the
# probabilities stay near 0.5 while the model's own ranking (EER, AUC, minDCF) is kept.
MIN_CALIBRATION_SCALE = 0.01


# The thresholds of P(synthetic) whose error rates the sidecar records.
OPERATING_THRESHOLDS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def fit_calibration(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Logistic calibration at equal class priors (balanced weights): P = sigmoid(a*s + b).

    The slope ``a`` is at least ``MIN_CALIBRATION_SCALE``; where the unconstrained fit is
    flatter or negative, the offset is refitted for the floored slope.
    """
    lr = LogisticRegression(C=1e4, class_weight="balanced")
    lr.fit(scores.reshape(-1, 1), labels)
    scale, offset = float(lr.coef_[0, 0]), float(lr.intercept_[0])
    if scale >= MIN_CALIBRATION_SCALE:
        return scale, offset
    spoof, genuine = scores[labels == 1], scores[labels == 0]

    def balanced_log_loss(b: float) -> float:
        return float(
            np.mean(np.logaddexp(0.0, -(MIN_CALIBRATION_SCALE * spoof + b)))
            + np.mean(np.logaddexp(0.0, MIN_CALIBRATION_SCALE * genuine + b))
        )

    return MIN_CALIBRATION_SCALE, float(minimize_scalar(balanced_log_loss).x)


def summarize(cache: FeatureCache, windows: np.ndarray) -> dict[str, Any]:
    """The sidecar's ``training_data``: clips per source and class, spoof systems, and a
    fingerprint of the exact audio the model was fitted on.

    ``window_audio_sha256`` hashes the trained windows' cached audio (after decoding, VAD,
    channel augmentation and level normalisation; int16). Two builds with the same hash saw
    the same audio, so any difference between their weights comes from training; two with
    different hashes differ before it (HiFi-GAN copies, codecs or the VAD computed on
    another CPU, say).
    """
    clips = clips_of(cache, windows)
    by_group = collections.Counter((c.group, "spoof" if c.label else "bonafide") for c in clips)
    systems = collections.Counter(c.system for c in clips if c.label)
    # A compact cache (``--compact``) keeps no window audio: fingerprint the spectrograms.
    source = cache.waves if cache.waves.shape[1] else cache.specs
    audio = hashlib.sha256()
    for i in np.sort(windows):
        audio.update(np.ascontiguousarray(source[i]).tobytes())
    return {
        "clips": len(clips),
        "bonafide": sum(1 for c in clips if not c.label),
        "spoof": sum(1 for c in clips if c.label),
        "sources": {f"{g}/{lab}": n for (g, lab), n in sorted(by_group.items())},
        "spoof_systems": dict(sorted(systems.items())),
        "windows": len(windows),
        "window_audio_sha256": audio.hexdigest(),
    }


def fit_model(
    approach: str, cache: FeatureCache, windows: np.ndarray, epochs: int = 6, seed: int = 0
) -> tuple[Detector, str]:
    """Train one approach for export; returns the model and its description."""
    model = fit_approach(approach, cache, windows, epochs, seed)
    if isinstance(model, FusionModel):
        model.encoder = load_whisper_prefix()
    if isinstance(model, FusionEnsemble):
        model.linear.encoder = load_whisper_prefix()
    return model, ARCHITECTURES[approach]


CALIBRATION_FOLDS = 5


@dataclass(frozen=True)
class CrossFittedScores:
    """Out-of-fold clip scores of a fold's training clips (``cross_fitted_scores``)."""

    scores: np.ndarray
    labels: np.ndarray
    fitted_on: str  # how the folds were made, for the sidecar's ``fitted_on``
    # Per extra cache (the same demo clips through phone lines, or short excerpts of them):
    # folder/file -> (label, score) of the clips each split scored.
    by_cache: dict[str, dict[str, tuple[int, float]]]

    def calibration(self) -> tuple[float, float, str]:
        """The wideband calibration: (scale, offset, what it was fitted on)."""
        scale, offset = fit_calibration(self.scores, self.labels)
        return scale, offset, self.fitted_on


def cross_fitted_scores(
    cache: FeatureCache,
    approach: str,
    windows: np.ndarray,
    epochs: int = 6,
    seed: int = 0,
    max_folds: int = CALIBRATION_FOLDS,
    trained: Detector | None = None,
    tests: dict[str, FeatureCache] | None = None,
) -> CrossFittedScores:
    """Out-of-fold clip scores of the training clips, for the calibrations.

    The training clips are split into up to ``max_folds`` folds; each fold's clips are
    scored by a model trained on the others and the logistic calibration is fitted on the
    pooled scores. This is how the bundled model is calibrated (on demos-loso), so a fold
    model's calibration is tested on its held-out fold as the bundled one would be on new
    sources. Scores of a model on its own training clips are overconfident: calibrating on
    them makes the Cllr of a held-out fold meaningless.

    A source group with spoofs in it (a demo repository, a corpus family) goes to one fold
    whole, so the scores come from models that never saw that source. A group of genuine
    clips only (LibriSpeech, FSDD) is spread over every fold by recording: holding all of
    a corpus's genuine speech out would calibrate on a model that never heard its channel,
    which no protocol asks of a fold model. With fewer than two spoof groups it falls back
    to in-sample calibration and says so; ``trained`` (the model already fitted on
    ``windows``) is then scored instead of fitting the same model again.

    ``tests``: caches of the same clips heard otherwise (``demo_test_caches``); each split's
    model also scores its scored clips there, so that a fold model gets the phone-line and
    short-speech calibrations the way the bundled model does, from the same fits.
    """
    clean = windows[cache.window_aug[windows] == 0]
    owners = cache.window_clip[windows]
    # A vocoded copy goes with the source of its original, like a held-out fold.
    spoof_groups = sorted(
        {source_group(cache.clips[i].group) for i in np.unique(owners) if cache.clips[i].label}
    )
    if len(spoof_groups) < 2:
        splits = [(windows, clean)]
        fitted_on = "this fold's training clips, in sample (one spoof source only)"
    else:
        folds = min(max_folds, len(spoof_groups))
        # Deterministic: spoof groups round robin in sorted order, genuine-only ones by recording.
        group_fold = {name: k % folds for k, name in enumerate(spoof_groups)}
        clip_fold = np.array(
            [
                group_fold.get(source_group(c.group), zlib.crc32(recording_key(c).encode()) % folds)
                for c in cache.clips
            ]
        )
        window_fold = clip_fold[owners]
        clean_fold = clip_fold[cache.window_clip[clean]]
        splits = [(windows[window_fold != k], clean[clean_fold == k]) for k in range(folds)]
        fitted_on = (
            f"out-of-fold clip scores of this fold's training clips ({folds} folds: spoof "
            "sources whole, genuine-only sources by recording), balanced class weights"
        )
    ids: list[np.ndarray] = []
    scores: list[np.ndarray] = []
    by_cache: dict[str, dict[str, tuple[int, float]]] = {name: {} for name in tests or {}}
    for train_windows, scored in splits:
        model = (
            trained
            if trained is not None and train_windows is windows
            else fit_approach(approach, cache, train_windows, epochs, seed)
        )
        clip_ids, clip_logits = clip_scores(cache, model, scored)
        ids.append(clip_ids)
        scores.append(clip_logits)
        keys = {clip_key(cache.clips[i]) for i in clip_ids}
        for name, test in (tests or {}).items():
            wanted = np.array([clip_key(c) in keys for c in test.clips])
            by_cache[name] |= keyed_scores(model, test, wanted)
    labels = cache.clip_labels(np.concatenate(ids))
    if len(set(labels.tolist())) < 2:
        raise ValueError("calibration needs genuine and spoof training clips")
    return CrossFittedScores(np.concatenate(scores), labels, fitted_on, by_cache)


# The narrowband calibration is fitted on the phone lines the training augmentation uses
# (AMR-NB, G.711), delivered as 8 kHz files and as 16 kHz 16-bit files; G.723.1 stays
# unseen so that the bench can tell whether it carries over to another codec.
NARROWBAND_CALIBRATION_LINES = ("amr-nb", "g711", "amr-nb+16bit", "g711+16bit")
# high_band_db below this counts as a phone line: clean demo-page windows measured -37 dB
# or more, windows through AMR-NB / G.711 / G.723.1 -49 dB or less in 99 cases out of 100.
NARROWBAND_BELOW_DB = -45.0

# The band-limited calibration is fitted on MP3 at 16 kHz and 32 kbit/s and a 7 kHz low-pass;
# MP3 at 64 kbit/s stays a test. Both cut the top of the band, and the training augmentation
# covers both, yet genuine speech through them is still scored as more synthetic than clean
# speech (docs/models/experiments/2026-12-04-band-limited-calibration.md).
BAND_LIMITED_CALIBRATION_LINES = ("mp3-32k", "lowpass-7k")
# top_band_db below this counts as band-limited: 1st percentile -31 dB on clean demo-page
# clips, -39 dB on LibriSpeech; 99th percentile -40 dB or less through MP3 at 16 kHz.
BAND_LIMITED_BELOW_DB = -40.0

# Speech shorter than this gets the short-speech calibration. Measured on out-of-fold scores
# of demo-clip excerpts: under 2 s a flatter mapping calibrates better (Cllr 0.99 -> 0.90 for
# 0.5-1 s, 0.88 -> 0.85 for 1-2 s), at 2-4 s the wideband one is still the better (0.80 vs 0.82).
SHORT_SPEECH_BELOW_S = 2.0
# Fitted on one excerpt per demo clip of 0.5-2 s of speech, clean and through two phone lines,
# since it replaces both the wideband and the phone-line calibration for short speech.
SHORT_SPEECH_EXCERPT_S = (0.5, SHORT_SPEECH_BELOW_S)
SHORT_SPEECH_CONDITIONS = {"short:clean": None, "short:amr-nb": "amr-nb", "short:g711": "g711"}


def demo_test_cache(
    demos: Path,
    path: Path,
    line: str | None = None,
    excerpt_s: tuple[float, float] | None = None,
    approaches: tuple[str, ...] = ("fusion",),
) -> FeatureCache:
    """The demo-page clips through one of ``TEST_CHANNELS`` (or none), each whole or as one
    short speech excerpt (``build_cache``'s ``excerpt_s``), no augmentation; cached at ``path``
    with the features ``approaches`` need."""
    if not path.exists():
        cache = build_cache(
            demo_clips(demos),
            FeatureParams(),
            augment_copies=0,
            channel=TEST_CHANNELS[line] if line else None,
            excerpt_s=excerpt_s,
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        cache.save(path)
    return ensure_features(path, list(approaches))


def demo_test_caches(
    demos: Path, work: Path, approaches: tuple[str, ...] = ("fusion",)
) -> dict[str, FeatureCache]:
    """The conditions the extra calibrations are fitted on: the narrowband and band-limited
    lines (whole clips) and the short-speech excerpts, cached under ``work``."""
    lines = {
        line: demo_test_cache(demos, work / f"{line}.npz", line, approaches=approaches)
        for line in NARROWBAND_CALIBRATION_LINES + BAND_LIMITED_CALIBRATION_LINES
    }
    short = {
        name: demo_test_cache(
            demos, work / f"{name.replace(':', '-')}.npz", line, SHORT_SPEECH_EXCERPT_S, approaches
        )
        for name, line in SHORT_SPEECH_CONDITIONS.items()
    }
    return lines | short


def clip_key(clip: Clip) -> str:
    """Folder/file name: the same key for a clip in every cache of the demo clips (clean,
    through a phone line, or as a short excerpt)."""
    return f"{clip.path.parent.name}/{clip.path.name}"


def keyed_scores(
    model: Detector, cache: FeatureCache, wanted: np.ndarray
) -> dict[str, tuple[int, float]]:
    """(label, mean window logit) of the ``wanted`` clips on their clean windows, by
    ``clip_key``."""
    ids, means = clip_scores(cache, model, scored_windows(cache, wanted))
    return {
        clip_key(cache.clips[i]): (cache.clips[i].label, float(m))
        for i, m in zip(ids, means, strict=True)
    }


@dataclass(frozen=True)
class DemosLosoScores:
    """Out-of-fold scores of one demos-loso pass, in which each fold model is trained once."""

    # (clip, fold, clip score) of the training cache's held-out clips on their clean windows:
    # the rows ``score_rows`` turns into the protocol's metrics.
    rows: list[tuple[int, str, float]]
    # Per extra cache (the same clips through other channels, or short excerpts of them):
    # folder/file -> (label, score).
    by_cache: dict[str, dict[str, tuple[int, float]]]


def demos_loso_scores(
    train: FeatureCache,
    tests: dict[str, FeatureCache],
    approach: str = "fusion",
    epochs: int = 6,
    exclude: tuple[str, ...] = (),
) -> DemosLosoScores:
    """Each demos-loso fold model scores its held-out repository in the training cache and in
    every test cache, so the clean metrics and the phone-line scores come from one set of fits
    (the same models ``run_protocol`` would train; ``exclude``: group prefixes never trained
    on)."""
    rows: list[tuple[int, str, float]] = []
    by_cache: dict[str, dict[str, tuple[int, float]]] = {name: {} for name in tests}
    for group, held in folds_for(train, "demos-loso"):
        model = fit_approach(approach, train, training_windows(train, held, exclude), epochs)
        clean = scored_windows(train, held)
        if clean.size:
            ids, means = clip_scores(train, model, clean)
            rows += [(int(i), group, float(m)) for i, m in zip(ids, means, strict=True)]
        for name, cache in tests.items():
            held_here = np.array([c.group == group for c in cache.clips])
            by_cache[name] |= keyed_scores(model, cache, held_here)
    return DemosLosoScores(rows, by_cache)


def line_calibration(
    scores: dict[str, dict[str, tuple[int, float]]],
    lines: tuple[str, ...] | list[str],
    keys: list[str] | None = None,
) -> tuple[float, float, int]:
    """(scale, offset, scores fitted on): ``fit_calibration`` on the pooled clip scores of
    ``lines`` (only the clips in ``keys`` when given, e.g. those every condition scored)."""
    pooled = [
        scores[line][k] for line in lines for k in (keys if keys is not None else scores[line])
    ]
    labels = np.array([label for label, _ in pooled])
    scale, offset = fit_calibration(np.array([s for _, s in pooled]), labels)
    return scale, offset, len(pooled)


# What scored the clips the extra calibrations are fitted on, for their ``fitted_on``.
DEMOS_LOSO_SCORES = "out-of-fold demos-loso clip scores"
CROSS_FITTED_SCORES = "cross-fitted scores (this fold's training clips only)"


# The channel blocks: the lines each is fitted on, and the sidecar field (and dB level) under
# which the detector applies it (also what ``channel_calibration`` refits).
CHANNEL_BLOCKS: dict[str, tuple[tuple[str, ...], tuple[str, float]]] = {
    "narrowband": (NARROWBAND_CALIBRATION_LINES, ("below_high_band_db", NARROWBAND_BELOW_DB)),
    "band_limited": (BAND_LIMITED_CALIBRATION_LINES, ("below_top_band_db", BAND_LIMITED_BELOW_DB)),
}


def narrowband_calibration(
    by_cache: dict[str, dict[str, tuple[int, float]]], scored_by: str = DEMOS_LOSO_SCORES
) -> dict[str, Any]:
    """The sidecar's ``calibration.narrowband``: a logistic calibration fitted on out-of-fold
    scores of the demo clips heard through ``NARROWBAND_CALIBRATION_LINES`` (``by_cache``:
    ``DemosLosoScores.by_cache`` or ``CrossFittedScores.by_cache``)."""
    return _line_block(by_cache, *CHANNEL_BLOCKS["narrowband"], scored_by)


def band_limited_calibration(
    by_cache: dict[str, dict[str, tuple[int, float]]], scored_by: str = DEMOS_LOSO_SCORES
) -> dict[str, Any]:
    """The sidecar's ``calibration.band_limited``: a logistic calibration fitted on
    out-of-fold scores of the demo clips through ``BAND_LIMITED_CALIBRATION_LINES``."""
    return _line_block(by_cache, *CHANNEL_BLOCKS["band_limited"], scored_by)


def _line_block(
    by_cache: dict[str, dict[str, tuple[int, float]]],
    lines: tuple[str, ...],
    applies_below: tuple[str, float],
    scored_by: str,
) -> dict[str, Any]:
    """A channel's calibration block: ``line_calibration`` on ``lines``, and the band level
    under which the detector applies it (``applies_below``: sidecar field, dB)."""
    scale, offset, fitted = line_calibration(by_cache, lines)
    return {
        "scale": scale,
        "offset": offset,
        applies_below[0]: applies_below[1],
        "fitted_on": (
            f"{scored_by} of the demo clips through {', '.join(lines)} ({fitted} scores), "
            "balanced class weights"
        ),
    }


def short_speech_calibration(
    by_cache: dict[str, dict[str, tuple[int, float]]], scored_by: str = DEMOS_LOSO_SCORES
) -> dict[str, Any]:
    """The sidecar's ``calibration.short_speech``: a logistic calibration fitted on out-of-fold
    scores of short speech excerpts of the demo clips (``SHORT_SPEECH_CONDITIONS``)."""
    scale, offset, fitted = line_calibration(by_cache, tuple(SHORT_SPEECH_CONDITIONS))
    low, high = SHORT_SPEECH_EXCERPT_S
    lines = ", ".join(line for line in SHORT_SPEECH_CONDITIONS.values() if line)
    return {
        "scale": scale,
        "offset": offset,
        "below_speech_s": SHORT_SPEECH_BELOW_S,
        "fitted_on": (
            f"{scored_by} of one {low:g}-{high:g} s speech excerpt per "
            f"demo clip, clean and through {lines} ({fitted} scores), balanced class weights"
        ),
    }


# The extra calibrations by sidecar block: (what fits it, the conditions it is fitted on).
EXTRA_CALIBRATIONS: dict[
    str,
    tuple[
        Callable[[dict[str, dict[str, tuple[int, float]]], str], dict[str, Any]], tuple[str, ...]
    ],
] = {
    "narrowband": (narrowband_calibration, NARROWBAND_CALIBRATION_LINES),
    "band_limited": (band_limited_calibration, BAND_LIMITED_CALIBRATION_LINES),
    "short_speech": (short_speech_calibration, tuple(SHORT_SPEECH_CONDITIONS)),
}


def extra_calibrations(
    by_cache: dict[str, dict[str, tuple[int, float]]], scored_by: str = DEMOS_LOSO_SCORES
) -> dict[str, dict[str, Any]]:
    """The narrowband, band-limited and short-speech calibrations by sidecar block, each only
    when every condition it is fitted on has scores of both classes (no ``--demos``, or a fold
    whose training clips hold no demo page, gives none: the sidecar then goes without it and
    the wideband one serves)."""

    def covered(conditions: tuple[str, ...]) -> bool:
        return all(
            len({label for label, _ in by_cache.get(name, {}).values()}) == 2 for name in conditions
        )

    return {
        block: fit(by_cache, scored_by)
        for block, (fit, conditions) in EXTRA_CALIBRATIONS.items()
        if covered(conditions)
    }


def recording_key(clip: Clip) -> str:
    """One key for a recording and its augmented copy (``x.wav`` and ``x_aug.wav``)."""
    return f"{clip.group}/{clip.path.parent.name}/{clip.path.stem.removesuffix('_aug')}"


@dataclass(frozen=True)
class FoldExport:
    model: Detector
    held_clips: np.ndarray  # indices of the clips the fold scores (clean, held out)
    held_windows: np.ndarray  # their clean windows in the cache


def export_fold(
    cache: FeatureCache,
    approach: str,
    protocol: str,
    fold: str,
    out: Path,
    exclude: tuple[str, ...] = (),
    reference: tuple[str, ...] = (),
    epochs: int = 6,
    seed: int = 0,
    tests: dict[str, FeatureCache] | None = None,
) -> FoldExport:
    """Train ``approach`` without one fold's held-out clips and export it to ``out``.

    Returns the model and the fold's held-out clips (what the protocol scores). The
    calibration is cross-fitted on the fold's training clips (``cross_fitted_scores``),
    so the Cllr of the held-out fold measures calibration on unseen sources. With ``tests``
    (``demo_test_caches``) the fold model also gets the phone-line, band-limited and
    short-speech calibrations, cross-fitted the same way, so that ``voxguard eval cm``
    calibrates a phone call, an MP3 or a short clip as the bundled model would.
    """
    folds = dict(folds_for(cache, protocol, reference))
    if fold not in folds:
        raise ValueError(f"{protocol} has no fold {fold!r}; its folds: {', '.join(folds)}")
    held = folds[fold]
    windows = training_windows(cache, held, exclude)
    model, arch = fit_model(approach, cache, windows, epochs, seed)
    crossed = cross_fitted_scores(
        cache, approach, windows, epochs, seed, trained=model, tests=tests
    )
    write_model(
        model,
        out,
        crossed.calibration(),
        extra_calibrations(crossed.by_cache, CROSS_FITTED_SCORES),
        version=f"{__version__}+spoof.{protocol}.{slug(fold)}.{approach}",
        architecture=arch,
        training_data=summarize(cache, windows),
        augmentation=AUGMENTATION,
        metrics={"protocol": protocol, "held_out": fold, "excluded": list(exclude)},
    )
    held_windows = scored_windows(cache, held)
    return FoldExport(model, np.unique(cache.window_clip[held_windows]), held_windows)


def write_model(
    model: Detector,
    out: Path,
    calibration: tuple[float, float, str],
    extra: dict[str, dict[str, Any]] | None = None,
    **sidecar: Any,
) -> None:
    """Export with a logistic calibration (scale, offset, what it was fitted on) at 0.5,
    plus the extra ones by sidecar block (``extra_calibrations``)."""
    scale, offset, fitted_on = calibration
    export(
        model,
        FeatureParams(),
        out,
        calibration={
            "method": "logistic",
            "scale": scale,
            "offset": offset,
            "fitted_on": fitted_on,
            **(extra or {}),
        },
        threshold=0.5,
        extra={**sidecar, "created": datetime.now(UTC).isoformat(timespec="seconds")},
    )


def recalibrate_model(
    model_dir: Path, blocks: dict[str, dict[str, Any]], metrics: dict[str, Any]
) -> None:
    """Replace (or add) the given calibration blocks in an exported model's sidecar, leaving
    its ONNX file and every other field as they are, under a new version derived from the one
    it came from (also in ``recalibrated``). ``metrics``: the demos-loso pass the blocks were fitted
    in, which trained fold models of this code's recipe, not the exported model's own."""
    path = model_dir / SIDECAR_FILE
    sidecar = json.loads(path.read_text())
    previous, now = sidecar["version"], datetime.now(UTC)
    sidecar["calibration"] |= blocks
    # Derived from the previous version, so it never equals it (exported the same minute).
    sidecar["version"] = f"{previous}.cal{now:%Y%m%d%H%M}"
    sidecar["recalibrated"] = {
        "from_version": previous,
        "blocks": sorted(blocks),
        "at": now.isoformat(timespec="seconds"),
    }
    # The demos-loso pass the blocks came from, when they came from one (not the sources-kfold
    # refit of ``channel_calibration``, which passes no metrics).
    if passed := {k: metrics[k] for k in ("eer", "auc") if k in metrics}:
        sidecar["recalibrated"]["demos_loso_pass"] = passed
    path.write_text(json.dumps(sidecar, indent=1) + "\n")
    load_sidecar(path)  # what the service will read: fail here, not at serving time


def clip_scores(
    cache: FeatureCache, model: Detector, windows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(clip indices, mean window logit per clip) of a fitted model over the given windows."""
    return clip_means(cache.window_clip[windows], window_logits(model, cache, windows))


def clips_of(cache: FeatureCache, windows: np.ndarray) -> list[Clip]:
    """The clips that own the given windows, in cache order."""
    return [cache.clips[i] for i in np.unique(cache.window_clip[windows])]


def scored_labels(cache: FeatureCache, report: dict[str, object]) -> tuple[np.ndarray, np.ndarray]:
    """(out-of-fold clip scores, labels) of a protocol report, in path order."""
    path_label = {str(c.path): c.label for c in cache.clips}
    scores = cast(dict[str, float], report["scores"])
    paths = sorted(scores)
    return np.array([scores[p] for p in paths]), np.array([path_label[p] for p in paths])


def slug(text: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in text).strip("-").lower()


def add_phone_lines_argument(ap: argparse.ArgumentParser) -> None:
    ap.add_argument(
        "--phone-lines",
        type=Path,
        default=Path("artifacts/phone_channels"),
        help="where the demo clips through phone lines and their short excerpts are cached "
        "(the narrowband and short-speech calibrations; built from --demos on first use)",
    )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_source_arguments(ap)
    ap.add_argument("--approach", choices=APPROACHES, default="fusion")
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--protocol", choices=PROTOCOLS, help="export one fold's model (--fold)")
    ap.add_argument("--fold", help="the held-out fold, e.g. demos:FastDiff or tts_neural/piper")
    ap.add_argument(
        "--exclude",
        default="",
        help="comma-separated group prefixes never trained on, e.g. corpus:classical_tts",
    )
    ap.add_argument("--reference", default="", help="group prefixes held out of every fold")
    add_phone_lines_argument(ap)
    ap.add_argument(
        "--recalibrate",
        default="",
        help="comma-separated calibration blocks, of: "
        f"{', '.join(EXTRA_CALIBRATIONS)}: refit only these for the model already in --out "
        "(its ONNX file and every other block untouched) instead of training a new one",
    )
    ap.add_argument(
        "--calibrate-on",
        choices=("demos-loso", "sources-kfold"),
        default="demos-loso",
        help="the out-of-fold scores the wideband calibration is fitted on: the 11 demo "
        "repositories (demos-loso) or every demo-page source in 10 source folds "
        "(sources-kfold; needs a cache with the real-world corpus)",
    )
    ap.add_argument(
        "--calibration-report",
        type=Path,
        help="with --calibrate-on sources-kfold: write that pass's report (metrics and every "
        "out-of-fold clip score) to this JSON file",
    )
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    if (args.protocol is None) != (args.fold is None):
        ap.error("--protocol and --fold go together")
    recalibrate = [block for block in args.recalibrate.split(",") if block]
    unknown = set(recalibrate) - set(EXTRA_CALIBRATIONS)
    if unknown:
        ap.error(
            f"unknown calibration blocks {sorted(unknown)}; accepted: "
            f"{', '.join(EXTRA_CALIBRATIONS)}"
        )
    if recalibrate and (args.demos is None or args.protocol is not None):
        ap.error(
            "--recalibrate needs --demos (the calibrations are fitted on the demo clips) "
            "and no --protocol"
        )
    if recalibrate and not (args.out / SIDECAR_FILE).is_file():
        ap.error(f"--recalibrate: {args.out} holds no exported model ({SIDECAR_FILE})")
    torch.set_num_threads(args.threads)
    ensure_cache(ap, args)
    cache = ensure_features(args.cache, [args.approach])
    test_caches = (
        demo_test_caches(args.demos, args.phone_lines, (args.approach,))
        if args.demos is not None
        else {}
    )
    if args.protocol is not None:
        fold = export_fold(
            cache,
            args.approach,
            args.protocol,
            args.fold,
            args.out,
            split_prefixes(args.exclude),
            split_prefixes(args.reference),
            args.epochs,
            args.seed,
            test_caches,
        )
        print(f"exported the {args.fold} fold model to {args.out}", file=sys.stderr)
        print(f"{len(fold.held_clips)} held-out clips", file=sys.stderr)
        return

    # One demos-loso pass: out-of-fold scores of the held-out source repositories, clean (->
    # calibration and metrics), through phone lines and as short excerpts (-> the narrowband
    # and short-speech calibrations).
    exclude = split_prefixes(args.exclude)
    passed = demos_loso_scores(cache, test_caches, args.approach, args.epochs, exclude)
    oof = score_rows(cache, passed.rows)
    s, y = scored_labels(cache, oof)
    scale, offset = fit_calibration(s, y)
    fitted_on = "out-of-fold clip scores of demos-loso, balanced class weights"
    per_group = cast(dict[str, float], oof["per_group"])
    metrics: dict[str, Any] = {
        "protocol": "demos-loso (leave one demo source repository out, pooled out-of-fold)",
        "eer": round(eer(s, y), 4),
        "min_dcf": round(min_dcf(s, y), 4),
        "auc": round(roc_auc(s, y), 4),
        "cllr_calibrated_in_sample": round(cllr(scale * s + offset, y), 4),
        "per_source_repo_eer": {k: round(v, 4) for k, v in per_group.items()},
        **({"excluded": list(exclude)} if exclude else {}),
    }
    if args.calibrate_on == "sources-kfold":
        # The wideband calibration (and its operating points) from every demo-page source,
        # each scored by the fold model that never saw it, instead of the 11 demos alone.
        kfold = run_protocol(
            cache, "sources-kfold", make_scorers(cache, args.epochs)[args.approach], exclude
        )
        if args.calibration_report is not None:
            # In the shape of a ``protocols`` report, for ``operating`` and the like.
            report = {"protocol": "sources-kfold", "cache": str(args.cache), args.approach: kfold}
            args.calibration_report.write_text(json.dumps(report, indent=1))
        s, y = scored_labels(cache, kfold)
        scale, offset = fit_calibration(s, y)
        fitted_on = (
            f"out-of-fold clip scores of sources-kfold ({len(s)} clips of every demo-page "
            "source, 10 folds holding sources out whole), balanced class weights"
        )
        metrics["sources_kfold"] = {
            "eer": round(eer(s, y), 4),
            "mean_over_sources": round(float(cast(float, kfold["mean_over_sources"])), 4),
            "auc": round(roc_auc(s, y), 4),
            "min_dcf": round(min_dcf(s, y), 4),
            "cllr_calibrated_in_sample": round(cllr(scale * s + offset, y), 4),
        }
    # Genuine clips flagged and spoofs missed at each threshold of the calibrated probability
    # (wideband calibration, on the scores it was fitted on), for the service's DET view.
    metrics["operating_points"] = [
        {"threshold": t, "false_alarm": round(fa, 4), "miss": round(miss, 4)}
        for t, fa, miss in rates_at(expit(scale * s + offset), y, OPERATING_THRESHOLDS)
    ]
    print(json.dumps(metrics), file=sys.stderr)
    extra = extra_calibrations(passed.by_cache)
    for block, fitted in extra.items():
        print(f"{block} calibration: {json.dumps(fitted)}", file=sys.stderr)
    if not test_caches:
        print(
            "no --demos: exported without the phone-line, band-limited and short-speech "
            "calibrations",
            file=sys.stderr,
        )
    if recalibrate:
        recalibrate_model(args.out, {block: extra[block] for block in recalibrate}, metrics)
        print(f"recalibrated {', '.join(recalibrate)} in {args.out}", file=sys.stderr)
        return

    # Everything but the excluded groups and the corpus's test split (kept unseen for eval cm).
    trained = training_windows(cache, np.zeros(len(cache.clips), bool), exclude)
    model, arch = fit_model(args.approach, cache, trained, args.epochs, args.seed)
    write_model(
        model,
        args.out,
        (scale, offset, fitted_on),
        extra,
        version=f"{__version__}+spoof.{datetime.now(UTC):%Y%m%d%H%M}",
        architecture=arch,
        training_data=summarize(cache, trained),
        augmentation=AUGMENTATION
        + (
            "; spectrogram frequency/time masking and random band-limiting during training"
            if args.approach == "cnn"
            else ""
        ),
        metrics=metrics,
    )
    print(f"exported to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
