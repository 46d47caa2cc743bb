"""Stack an extra read-out onto the bundled recipe's out-of-fold logits (experiments).

A view is judged by what it adds to the detector on sources it never saw: under the
sources-kfold folds of ``protocols`` (``source_fold``), the view is fitted on the other
folds' clips, and its held-out logit is added to the base recipe's out-of-fold logit with a
weight that gives both the same spread. ``metrics`` reads the result the way
``protocols.score_rows`` does.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from voxguard.evaluation.metrics import eer
from voxguard.training.detector.data import REALWORLD_PREFIX
from voxguard.training.detector.models import source_balanced_weights
from voxguard.training.detector.protocols import SOURCE_FOLDS, family_means, source_fold

# fit(training mask) -> score(mask) -> one logit per clip of the mask
Scorer = Callable[[np.ndarray], np.ndarray]
Fitter = Callable[[np.ndarray], Scorer]


def balanced_logistic(
    x: np.ndarray, y: np.ndarray, groups: np.ndarray, c: float, max_iter: int
) -> Scorer:
    """A standardised logistic regression fitted with class- and source-balanced weights
    (``source_balanced_weights``); returns its logit for any rows of features."""
    model = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=max_iter))
    model.fit(x, y, logisticregression__sample_weight=source_balanced_weights(groups, y))
    return lambda rows: np.asarray(model.decision_function(rows), dtype=np.float64)


def fused_scores(
    fit: Fitter,
    present: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray,
    base: np.ndarray,
    gate_quantile: float | None = None,
) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """Out-of-fold (view logit, fused score, each fold's weight) per clip under the
    sources-kfold folds.

    For held-out fold k: the view is fitted on the other folds' clips where it applies
    (``present``); its weight is the spread (std) of the base logits over those clips divided
    by the spread of their inner out-of-fold view logits (one fit per other fold), so that
    the two enter with the same spread; held-out clips where it applies get
    ``base + weight * view``, the others ``base``. With ``gate_quantile`` q the view can only
    raise a score: ``base + weight * max(0, view - t)``, t the q-quantile of the inner
    out-of-fold view logits of the training folds' genuine clips. No held-out label is used."""
    fold = np.array([source_fold(g) for g in groups])
    view = np.full(y.size, np.nan)
    fused = base.copy()
    weights: list[float] = []
    for k in range(SOURCE_FOLDS):
        train = present & (fold != k)
        held = present & (fold == k)
        if not held.any() or len(set(y[train].tolist())) < 2:
            continue
        inner = np.full(y.size, np.nan)
        for j in set(fold[train].tolist()):
            fit_on = train & (fold != j)
            if len(set(y[fit_on].tolist())) < 2:
                continue
            inner[train & (fold == j)] = fit(fit_on)(train & (fold == j))
        ok = train & ~np.isnan(inner)
        weight = float(np.std(base[ok]) / max(np.std(inner[ok]), 1e-9))
        weights.append(weight)
        view[held] = fit(train)(held)
        if gate_quantile is None:
            fused[held] = base[held] + weight * view[held]
        else:
            gate = float(np.quantile(inner[ok & (y == 0)], gate_quantile))
            fused[held] = base[held] + weight * np.maximum(0.0, view[held] - gate)
    return view, fused, weights


def metrics(
    scores: np.ndarray, y: np.ndarray, groups: np.ndarray, systems: np.ndarray
) -> dict[str, object]:
    """Pooled EER, mean EER over sources and over vocoder systems, each source's or system's
    spoofs against all out-of-fold genuine clips (as ``protocols.score_rows``)."""
    bona = y == 0

    def against(sel: np.ndarray) -> float:
        return eer(
            np.r_[scores[sel], scores[bona]], np.r_[np.ones(sel.sum()), np.zeros(bona.sum())]
        )

    per_source = {g: against((groups == g) & (y == 1)) for g in sorted(set(groups[y == 1]))}
    per_system = {s: against((systems == s) & (y == 1)) for s in sorted(set(systems[y == 1]))}
    per_family = family_means(per_system)  # spoof systems here are all "family/system"
    return {
        "eer": eer(scores, y),
        "mean_over_sources": float(np.mean(list(per_source.values()))),
        "vocoder_systems": per_family.get("vocoder", float("nan")),
        "per_family_systems": per_family,
        "per_system": per_system,
    }


def clip_features(cache: Path, paths: list[str]) -> np.ndarray:
    """Each clip's mean over its clean windows of the statistics and encoder features."""
    with np.load(cache) as z:
        clip_path = z["clip_path"]
        window_clip = z["window_clip"]
        clean = z["window_aug"] == 0
        views = np.concatenate([z["stats"], z["encoded"]], axis=1)[clean]
    at = {p: i for i, p in enumerate(clip_path.tolist())}
    missing = [p for p in paths if p not in at]
    if missing:
        raise KeyError(f"{len(missing)} clips are not in {cache}, for example {missing[0]}")
    row_of = np.full(clip_path.size, -1)
    row_of[[at[p] for p in paths]] = np.arange(len(paths))
    rows = row_of[window_clip[clean]]
    keep = rows >= 0
    member = sparse.csr_matrix(
        (np.ones(int(keep.sum())), (rows[keep], np.nonzero(keep)[0])),
        shape=(len(paths), views.shape[0]),
    )
    counts = np.asarray(member.sum(axis=1)).reshape(-1)
    if (counts == 0).any():
        raise ValueError(f"{int((counts == 0).sum())} clips have no clean window in {cache}")
    return np.asarray(member @ views.astype(np.float64)) / counts[:, None]


def base_scores(report: Path, approach: str) -> dict[str, float]:
    """A ``protocols`` report's out-of-fold clip scores (path, or path@fold, -> logit)."""
    scores: dict[str, float] = json.loads(report.read_text())[approach]["scores"]
    return scores


@dataclass(frozen=True)
class ScoredClips:
    """The real-world corpus clips a base report scored, with what the metrics need."""

    rows: list[dict[str, str]]  # manifest rows
    paths: list[str]  # as the cache and the report name them
    y: np.ndarray  # 1 = spoof
    groups: np.ndarray  # realworld:OWNER/NAME
    family: np.ndarray  # "" for genuine clips
    systems: np.ndarray  # family/system, or "human"
    base: np.ndarray  # the base report's out-of-fold logit


def scored_clips(corpus: Path, base_report: Path, approach: str) -> ScoredClips:
    base = base_scores(base_report, approach)
    root = str(corpus).rstrip("/") + "/"
    rows = [r for r in csv.DictReader((corpus / "manifest.csv").open()) if root + r["path"] in base]
    paths = [root + r["path"] for r in rows]
    family = np.array([r["family"] if r["label"] == "spoof" else "" for r in rows])
    return ScoredClips(
        rows=rows,
        paths=paths,
        y=np.array([int(r["label"] == "spoof") for r in rows]),
        groups=np.array([REALWORLD_PREFIX + r["source_repo"] for r in rows]),
        family=family,
        systems=np.array(
            [f"{f}/{r['system']}" if f else "human" for f, r in zip(family, rows, strict=True)]
        ),
        base=np.array([base[p] for p in paths]),
    )


def summary_line(name: str, m: dict[str, object]) -> str:
    return (
        f"{name}: pooled {100 * float(m['eer']):.2f}  "  # type: ignore[arg-type]
        f"sources {100 * float(m['mean_over_sources']):.2f}  "  # type: ignore[arg-type]
        f"vocoder {100 * float(m['vocoder_systems']):.2f}"  # type: ignore[arg-type]
    )


def stacking_parser(doc: str | None) -> argparse.ArgumentParser:
    """The command line every stacked read-out shares: the cache, the corpus, the base
    report (a ``protocols`` sources-kfold report) and its approach, the output."""
    ap = argparse.ArgumentParser(
        description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--cache", type=Path, required=True)
    ap.add_argument("--corpus", type=Path, required=True)
    ap.add_argument("--base", type=Path, required=True, help="a protocols sources-kfold report")
    ap.add_argument("--approach", default="fusion_ensemble")
    ap.add_argument("--out", type=Path, required=True)
    return ap


def write_report(out: Path, report: dict[str, object], names: tuple[str, ...]) -> None:
    """Write the JSON report and print one summary line per named score."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1))
    for name in names:
        print(summary_line(name, report[name]), file=sys.stderr)  # type: ignore[arg-type]
