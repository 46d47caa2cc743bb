"""The two detector back ends compared on the protocols, and their training loops.

- ``SpecCNN``: a small LCNN-style network (max-feature-map activations) on the 128-band
  linear log spectrogram of a 4 s window, trained with frequency / time masking and random
  band-limiting of both classes.
- ``fit_stats``: logistic regression on fixed-length spectral statistics of the same window.
- ``fit_fusion``: that logistic regression plus a second one on pooled activations of a
  pretrained speech encoder (``encoder.WhisperPrefix``), their logits summed.
- ``fit_baseline``: the named baseline to beat, a RandomForest on 26 librosa summary features
  (``voxguard.spoof.features.summary_features``); ``bench/spoof_baseline.py`` runs it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from torch import nn

if TYPE_CHECKING:
    from voxguard.training.detector.encoder import WhisperPrefix


class MaxFeatureMap(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = torch.chunk(x, 2, dim=1)
        return torch.maximum(a, b)


def _block(cin: int, cout: int, stride: tuple[int, int]) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, 2 * cout, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(2 * cout),
        MaxFeatureMap(),
    )


class SpecCNN(nn.Module):
    """(batch, bands, frames) dB spectrogram -> (batch,) spoof logit."""

    band_mean: torch.Tensor
    band_std: torch.Tensor

    def __init__(
        self, bands: int = 128, mean: np.ndarray | None = None, std: np.ndarray | None = None
    ):
        super().__init__()
        m = torch.zeros(bands) if mean is None else torch.as_tensor(mean, dtype=torch.float32)
        s = torch.ones(bands) if std is None else torch.as_tensor(std, dtype=torch.float32)
        self.register_buffer("band_mean", m.view(1, 1, bands, 1))
        self.register_buffer("band_std", s.view(1, 1, bands, 1))
        self.features = nn.Sequential(
            _block(1, 8, (2, 2)),
            _block(8, 16, (2, 2)),
            _block(16, 24, (2, 2)),
            _block(24, 32, (2, 2)),
            _block(32, 32, (2, 1)),
        )
        self.dropout = nn.Dropout(0.3)
        self.head = nn.Linear(2 * 32 * (bands // 32), 1)

    def forward(self, spec: torch.Tensor) -> torch.Tensor:
        x = (spec.unsqueeze(1) - self.band_mean) / self.band_std
        x = self.features(x)  # (batch, C, bands/32, T')
        pooled = torch.cat([x.mean(dim=3), x.amax(dim=3)], dim=1).flatten(1)
        logit: torch.Tensor = self.head(self.dropout(pooled)).squeeze(1)
        return logit


def _mask_batch(x: torch.Tensor, gen: torch.Generator, floor_z: float) -> torch.Tensor:
    """SpecAugment-style masks and random band-limiting, applied to both classes alike."""
    b, f, t = x.shape
    x = x.clone()
    for i in range(b):
        r = torch.rand(4, generator=gen)
        width = int(r[0] * 20)
        start = int(r[1] * (f - width))
        x[i, start : start + width, :] = x[i].mean()
        tw = int(r[2] * 30)
        ts = int(torch.rand(1, generator=gen) * (t - tw))
        x[i, :, ts : ts + tw] = x[i].mean()
        if r[3] < 0.2:  # band-limit: everything above a random cutoff (3.5-7.5 kHz) to floor
            cut = int(f * (0.44 + 0.5 * float(torch.rand(1, generator=gen))))
            x[i, cut:, :] = floor_z
    return x


@dataclass
class TrainReport:
    losses: list[float]


def fit_cnn(
    specs: np.ndarray,
    labels: np.ndarray,
    epochs: int = 6,
    batch_size: int = 64,
    lr: float = 2e-3,
    seed: int = 0,
    max_steps: int | None = None,
    sample_weight: np.ndarray | None = None,
) -> tuple[SpecCNN, TrainReport]:
    """Train on (windows, bands, frames) float16/32 specs with 0/1 labels (1 = spoof).

    Classes are balanced by the loss's positive weight; with ``sample_weight`` (for example
    ``source_balanced_weights``) each epoch instead draws as many windows as there are, with
    replacement, in proportion to their weights, and the loss is unweighted.
    """
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    x_all = torch.as_tensor(specs.astype(np.float32))
    y_all = torch.as_tensor(labels.astype(np.float32))
    mean = x_all.mean(dim=(0, 2)).numpy()
    std = x_all.std(dim=(0, 2)).clamp_min(1.0).numpy()
    model = SpecCNN(specs.shape[1], mean, std)
    draw = None if sample_weight is None else torch.as_tensor(sample_weight, dtype=torch.float64)
    pos = float(y_all.sum())
    pos_weight = torch.tensor((len(y_all) - pos) / max(pos, 1.0) if draw is None else 1.0)
    loss_fn = nn.BCEWithLogitsLoss(pos_weight=pos_weight)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-3)
    steps_per_epoch = int(np.ceil(len(y_all) / batch_size))
    total = steps_per_epoch * epochs if max_steps is None else max_steps
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=total)
    floor = -90.0
    losses: list[float] = []
    step = 0
    model.train()
    while step < total:
        if draw is None:
            order = torch.randperm(len(y_all), generator=gen)
        else:
            order = torch.multinomial(draw, len(y_all), replacement=True, generator=gen)
        for k in range(0, len(order), batch_size):
            idx = order[k : k + batch_size]
            xb = _mask_batch(x_all[idx], gen, floor)
            loss = loss_fn(model(xb), y_all[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            losses.append(float(loss.detach()))
            step += 1
            if step >= total:
                break
    model.eval()
    return model, TrainReport(losses)


@torch.no_grad()
def predict_cnn(model: SpecCNN, specs: np.ndarray, batch_size: int = 256) -> np.ndarray:
    model.eval()
    out = []
    for k in range(0, len(specs), batch_size):
        out.append(model(torch.as_tensor(specs[k : k + batch_size].astype(np.float32))).numpy())
    return np.concatenate(out) if out else np.zeros(0, np.float32)


@dataclass
class LinearModel:
    """Standardise then a linear score: logit = ((x - mean) / std) @ weights + bias."""

    mean: np.ndarray
    std: np.ndarray
    weights: np.ndarray
    bias: float

    def logit(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(((x - self.mean) / self.std) @ self.weights + self.bias)


def fit_stats(
    stats: np.ndarray,
    labels: np.ndarray,
    c: float = 0.05,
    sample_weight: np.ndarray | None = None,
    scale: tuple[np.ndarray, np.ndarray] | None = None,
) -> LinearModel:
    """Standardised logistic regression; classes balanced, or ``sample_weight`` as given.
    ``scale``: the (mean, std) to standardise with, instead of the features' own."""
    mean, std = scale or (stats.mean(axis=0), stats.std(axis=0) + 1e-3)
    lr = LogisticRegression(
        C=c, class_weight="balanced" if sample_weight is None else None, max_iter=2000
    )
    lr.fit((stats - mean) / std, labels, sample_weight=sample_weight)
    return LinearModel(mean, std, lr.coef_[0].astype(np.float32), float(lr.intercept_[0]))


@dataclass
class FusionModel:
    """Two linear read-outs (spectral statistics, speech-encoder activations), summed.

    Each head's logit is divided by its spread on the training windows, so that neither
    dominates by scale alone; ``encoder`` is attached for export only.
    """

    stats_head: LinearModel
    encoder_head: LinearModel
    stats_weight: float
    encoder_weight: float
    encoder: WhisperPrefix | None = None

    def logit(self, stats: np.ndarray, encoded: np.ndarray) -> np.ndarray:
        return np.asarray(
            self.stats_weight * self.stats_head.logit(stats)
            + self.encoder_weight * self.encoder_head.logit(encoded)
        )


def fit_fusion(
    stats: np.ndarray,
    encoded: np.ndarray,
    labels: np.ndarray,
    c: float = 0.01,
    sample_weight: np.ndarray | None = None,
    scales: tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]] | None = None,
) -> FusionModel:
    heads = [
        fit_stats(x, labels, c=c, sample_weight=sample_weight, scale=scales[k] if scales else None)
        for k, x in enumerate((stats, encoded))
    ]
    spreads = [float(h.logit(x).std()) + 1e-6 for h, x in zip(heads, (stats, encoded), strict=True)]
    return FusionModel(heads[0], heads[1], 1.0 / spreads[0], 1.0 / spreads[1])


def source_balanced_weights(groups: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per-window weights: 1 / (windows of the same source and class), each class summing to
    half the windows, so every source counts the same within its class."""
    weights = np.zeros(labels.size, dtype=np.float64)
    for label in (0, 1):
        in_class = labels == label
        _, inverse, counts = np.unique(groups[in_class], return_inverse=True, return_counts=True)
        w = 1.0 / counts[inverse]
        weights[in_class] = w * (labels.size / 2) / w.sum()
    return weights


def family_balanced_weights(
    groups: np.ndarray, families: np.ndarray, labels: np.ndarray
) -> np.ndarray:
    """Per-window weights: genuine windows as ``source_balanced_weights``; spoof windows so
    that every spoof family counts the same, within a family every source, and within a
    source's family every window. Each class sums to half the windows."""
    weights = source_balanced_weights(groups, labels)
    spoof = labels == 1
    if not spoof.any():
        return weights
    cells = np.char.add(np.char.add(families[spoof].astype(str), "\x1f"), groups[spoof].astype(str))
    _, cell_of, cell_windows = np.unique(cells, return_inverse=True, return_counts=True)
    fams, family_of = np.unique(families[spoof], return_inverse=True)
    # sources per family: the distinct cells each family holds
    cell_family = np.zeros(cell_windows.size, dtype=np.int64)
    cell_family[cell_of] = family_of
    sources_in = np.bincount(cell_family, minlength=fams.size)
    w = 1.0 / (fams.size * sources_in[family_of] * cell_windows[cell_of])
    weights[spoof] = w * (labels.size / 2) / w.sum()
    return weights


# The forest's spoof probability is clipped away from 0 and 1 before it becomes a logit, so a
# window every tree agrees on still averages with the file's other windows.
BASELINE_PROBABILITY_CLIP = 1e-3


@dataclass
class BaselineForest:
    """The named baseline: RandomForest on the 26 summary features, scored as logits."""

    forest: RandomForestClassifier

    def logit(self, features: np.ndarray) -> np.ndarray:
        eps = BASELINE_PROBABILITY_CLIP
        p = np.clip(self.forest.predict_proba(features)[:, 1], eps, 1 - eps)
        return np.asarray(np.log(p / (1 - p)))


def fit_baseline(features: np.ndarray, labels: np.ndarray, seed: int = 0) -> BaselineForest:
    forest = RandomForestClassifier(
        n_estimators=200, min_samples_leaf=2, class_weight="balanced", n_jobs=1, random_state=seed
    )
    forest.fit(features, labels)
    return BaselineForest(forest)


class StatsMLP(nn.Module):
    """Standardised spectral statistics -> one hidden layer (64, ReLU) -> spoof logit."""

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, mean: np.ndarray, std: np.ndarray, hidden: int = 64):
        super().__init__()
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32))
        self.register_buffer("std", torch.as_tensor(std, dtype=torch.float32))
        self.net = nn.Sequential(
            nn.Dropout(0.2),
            nn.Linear(int(mean.size), hidden),
            nn.ReLU(),
            nn.Dropout(0.5),
            nn.Linear(hidden, 1),
        )

    @property
    def dims(self) -> int:
        return int(self.mean.numel())

    def forward(self, stats: torch.Tensor) -> torch.Tensor:
        logit: torch.Tensor = self.net((stats - self.mean) / self.std).squeeze(1)
        return logit


def fit_mlp(
    stats: np.ndarray,
    labels: np.ndarray,
    epochs: int = 30,
    batch_size: int = 128,
    seed: int = 0,
) -> tuple[StatsMLP, TrainReport]:
    """AdamW (weight decay 0.01), class-balanced BCE; the configuration first tried, untuned."""
    torch.manual_seed(seed)
    model = StatsMLP(stats.mean(axis=0), stats.std(axis=0) + 1e-3)
    pos = float(labels.sum())
    # Each spoof window weighs (genuine windows / spoof windows): BCE's pos_weight.
    weights = np.where(labels == 1, (labels.size - pos) / max(pos, 1.0), 1.0)
    losses = _train_weighted(model, stats, labels, weights, epochs, batch_size, seed)
    return model, TrainReport(losses)


def _train_weighted(
    model: StatsMLP,
    x: np.ndarray,
    labels: np.ndarray,
    weights: np.ndarray,
    epochs: int,
    batch_size: int,
    seed: int,
) -> list[float]:
    """AdamW (lr 1e-3, weight decay 0.01) on BCE with each window's loss times its weight,
    averaged over the batch; shuffled by ``seed``; fixed epochs. Returns the batch losses."""
    gen = torch.Generator().manual_seed(seed)
    inputs = torch.as_tensor(x, dtype=torch.float32)
    y = torch.as_tensor(labels, dtype=torch.float32)
    w = torch.as_tensor(weights, dtype=torch.float32)
    loss_fn = nn.BCEWithLogitsLoss(reduction="none")
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-2)
    losses: list[float] = []
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(y), generator=gen)
        for k in range(0, len(order), batch_size):
            idx = order[k : k + batch_size]
            loss = (loss_fn(model(inputs[idx]), y[idx]) * w[idx]).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
    model.eval()
    return losses


@torch.no_grad()
def predict_mlp(model: StatsMLP, stats: np.ndarray) -> np.ndarray:
    model.eval()
    return np.asarray(model(torch.as_tensor(stats, dtype=torch.float32)).numpy())


class ViewsMLP(StatsMLP):
    """Both views (spectral statistics and encoder activations) standardised and joined ->
    the same one-hidden-layer network (128 units): a non-linear read-out of the fusion's
    inputs."""

    @torch.no_grad()
    def logit(self, stats: np.ndarray, encoded: np.ndarray) -> np.ndarray:
        self.eval()
        views = torch.as_tensor(np.hstack([stats, encoded]), dtype=torch.float32)
        return np.asarray(self(views).numpy())


def views_scale(views: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The (mean, std) a views MLP standardises its joined views with, from its windows."""
    return views.mean(axis=0), views.std(axis=0) + 1e-3


def fit_views_mlp(
    stats: np.ndarray,
    encoded: np.ndarray,
    labels: np.ndarray,
    sample_weight: np.ndarray,
    epochs: int = 8,
    batch_size: int = 256,
    seed: int = 0,
    scale: tuple[np.ndarray, np.ndarray] | None = None,
) -> ViewsMLP:
    """AdamW (lr 1e-3, weight decay 0.01), BCE weighted by ``sample_weight`` (the fusion's
    source-balanced weights); fixed epochs, no early stopping (nothing held out to stop on).
    ``scale``: the joined views' (mean, std) to standardise with, instead of their own."""
    torch.manual_seed(seed)
    views = np.hstack([stats, encoded])
    mean, std = scale or views_scale(views)
    model = ViewsMLP(mean, std, hidden=128)
    weights = sample_weight / sample_weight.mean()
    _train_weighted(model, views, labels, weights, epochs, batch_size, seed)
    return model


def fit_views_mlps(
    stats: np.ndarray,
    encoded: np.ndarray,
    labels: np.ndarray,
    sample_weight: np.ndarray,
    count: int,
    seed: int = 0,
) -> ViewsMLP:
    """``count`` views MLPs fitted with seeds ``seed``, ``seed + 1000``, ... on the same
    windows, weights and standardisation, merged into one network (their mean logit)."""
    scale = views_scale(np.hstack([stats, encoded]))
    members = [
        fit_views_mlp(stats, encoded, labels, sample_weight, seed=seed + 1000 * k, scale=scale)
        for k in range(count)
    ]
    return merge_views_mlps(members)


def merge_views_mlps(members: list[ViewsMLP]) -> ViewsMLP:
    """One views MLP whose logit is the mean of ``members``' logits: their hidden layers side
    by side, their output weights divided by their count. The members must share their input
    standardisation."""
    first = members[0]
    for member in members[1:]:
        if not (torch.equal(member.mean, first.mean) and torch.equal(member.std, first.std)):
            raise ValueError("views MLPs with different standardisations cannot be merged")
    hidden, output = zip(*(_linear_layers(m) for m in members), strict=True)
    merged = ViewsMLP(
        first.mean.numpy(), first.std.numpy(), hidden=sum(h.out_features for h in hidden)
    )
    merged_hidden, merged_output = _linear_layers(merged)
    with torch.no_grad():
        merged_hidden.weight.copy_(torch.cat([h.weight for h in hidden]))
        merged_hidden.bias.copy_(torch.cat([h.bias for h in hidden]))
        merged_output.weight.copy_(torch.cat([o.weight for o in output], dim=1) / len(members))
        merged_output.bias.copy_(torch.stack([o.bias for o in output]).mean(dim=0))
    return merged.eval()


def _linear_layers(mlp: StatsMLP) -> tuple[nn.Linear, nn.Linear]:
    """The hidden and the output layer of a one-hidden-layer MLP."""
    hidden, output = mlp.net[1], mlp.net[4]
    assert isinstance(hidden, nn.Linear) and isinstance(output, nn.Linear)
    return hidden, output


def nap_projection(
    z: np.ndarray, cells: np.ndarray, classes: np.ndarray, k: int, min_windows: int = 5
) -> np.ndarray:
    """Nuisance attribute projection ``Q = I - U U^T`` for standardised features ``z``.

    ``U`` holds the top ``k`` right singular vectors of the cells' mean features, each
    centred on the mean of its class's cell means (never more directions than those cell
    means span); cells with fewer than ``min_windows`` windows, and windows whose cell is ""
    (left out of the estimate), are ignored.
    """
    dims = z.shape[1]
    means: list[np.ndarray] = []
    for label in np.unique(classes):
        rows = []
        for cell in np.unique(cells[(classes == label) & (cells != "")]):
            in_cell = (cells == cell) & (classes == label)
            if in_cell.sum() >= min_windows:
                rows.append(z[in_cell].mean(axis=0))
        if len(rows) >= 2:
            block = np.asarray(rows)
            means.append(block - block.mean(axis=0))
    if not means or k <= 0:
        return np.eye(dims, dtype=np.float32)
    _, singular, vt = np.linalg.svd(np.concatenate(means), full_matrices=False)
    rank = int(np.sum(singular > 1e-6 * singular[0])) if singular.size else 0
    u = vt[: min(k, rank)].T
    return np.asarray(np.eye(dims) - u @ u.T, dtype=np.float32)


@dataclass
class Projection:
    """One view's standardisation and nuisance projection: ``project`` maps raw features to
    the projected features a read-out is fitted on; ``fold_*`` carry a read-out fitted on
    them back to raw features, so that the fitted model keeps its shape. Fit the read-outs
    with this view's ``scale``: standardising the projected features by their own spread
    would blow the remnants of the removed directions back up to unit variance."""

    mean: np.ndarray
    std: np.ndarray
    q: np.ndarray

    @property
    def scale(self) -> tuple[np.ndarray, np.ndarray]:
        return self.mean, self.std

    def project(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.mean + (((x - self.mean) / self.std) @ self.q) * self.std)

    def fold_linear(self, head: LinearModel) -> LinearModel:
        """``head`` standardises projected features with its own mean and std; the same
        logit from raw features."""
        ratio = self.std / head.std
        weights = self.q @ (ratio * head.weights)
        shift = float(((self.mean - head.mean) / head.std) @ head.weights)
        return LinearModel(self.mean, self.std, weights.astype(np.float32), head.bias + shift)


def joined_scale(views: list[Projection]) -> tuple[np.ndarray, np.ndarray]:
    """The joined views' (mean, std), as a views MLP standardises them."""
    return np.concatenate([p.mean for p in views]), np.concatenate([p.std for p in views])


def fold_projected_mlp(mlp: ViewsMLP, views: list[Projection]) -> ViewsMLP:
    """A views MLP fitted on projected, joined views -> the same logit from raw views."""
    mean, std = joined_scale(views)
    q = np.zeros((mean.size, mean.size), dtype=np.float32)
    start = 0
    for p in views:
        q[start : start + p.mean.size, start : start + p.mean.size] = p.q
        start += p.mean.size
    own_mean, own_std = mlp.mean.numpy().astype(np.float64), mlp.std.numpy().astype(np.float64)
    first = mlp.net[1]
    assert isinstance(first, nn.Linear)
    w = first.weight.detach().numpy().astype(np.float64)
    bias = first.bias.detach().numpy().astype(np.float64)
    folded = ViewsMLP(mean, std, hidden=w.shape[0])
    folded.load_state_dict(mlp.state_dict())
    with torch.no_grad():
        folded.mean.copy_(torch.as_tensor(mean, dtype=torch.float32))
        folded.std.copy_(torch.as_tensor(std, dtype=torch.float32))
        new_first = folded.net[1]
        assert isinstance(new_first, nn.Linear)
        new_first.weight.copy_(torch.as_tensor((w * (std / own_std)) @ q, dtype=torch.float32))
        new_first.bias.copy_(
            torch.as_tensor(bias + w @ ((mean - own_mean) / own_std), dtype=torch.float32)
        )
    folded.eval()
    return folded


@dataclass
class FusionEnsemble:
    """The linear fusion and the views MLP, each logit divided by its spread on the training
    windows, summed."""

    linear: FusionModel
    mlp: ViewsMLP
    linear_weight: float
    mlp_weight: float

    def logit(self, stats: np.ndarray, encoded: np.ndarray) -> np.ndarray:
        return np.asarray(
            self.linear_weight * self.linear.logit(stats, encoded)
            + self.mlp_weight * self.mlp.logit(stats, encoded)
        )


@dataclass
class PhaseEnsemble:
    """The ensemble plus a linear head on the phase view inside its linear part: the head's
    logit divided by its training spread, times the ensemble's linear weight (the phase-view
    experiment, docs/models/experiments/2026-12-06-phase-view.md)."""

    ensemble: FusionEnsemble
    phase_head: LinearModel
    phase_weight: float

    def logit(self, stats: np.ndarray, encoded: np.ndarray, phase: np.ndarray) -> np.ndarray:
        return np.asarray(
            self.ensemble.logit(stats, encoded) + self.phase_weight * self.phase_head.logit(phase)
        )


def with_phase_head(
    ensemble: FusionEnsemble,
    phase: np.ndarray,
    labels: np.ndarray,
    sample_weight: np.ndarray,
    c: float = 0.01,
) -> PhaseEnsemble:
    """Fit the phase head with the fusion's settings and add it to ``ensemble``."""
    head = fit_stats(phase, labels, c=c, sample_weight=sample_weight)
    spread = float(head.logit(phase).std()) + 1e-6
    return PhaseEnsemble(ensemble, head, ensemble.linear_weight / spread)


# Every back end the exporter and the protocols accept.
Detector = (
    SpecCNN
    | StatsMLP
    | LinearModel
    | FusionModel
    | BaselineForest
    | ViewsMLP
    | FusionEnsemble
    | PhaseEnsemble
)
