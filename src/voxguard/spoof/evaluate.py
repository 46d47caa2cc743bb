"""Countermeasure evaluation over a manifest: scores every file with the detector and reports
EER, minDCF, ROC AUC, Cllr, and the EER of each spoof system against all bona fide files.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from voxguard.errors import InvalidInput, VoxGuardError
from voxguard.evaluation.metrics import cllr, detection_curve, eer, min_dcf, roc_auc
from voxguard.spoof.detector import SpoofDetector

LABELS = {"bonafide": 0, "spoof": 1}


@dataclass(frozen=True)
class ManifestRow:
    path: Path
    label: int  # 1 spoof, 0 bona fide
    system: str


@dataclass
class CmReport:
    eer: float
    min_dcf: float
    auc: float
    cllr: float
    per_system: dict[str, float]
    n_bonafide: int
    n_spoof: int
    failures: dict[str, str] = field(default_factory=dict)
    scores: list[float] = field(default_factory=list)  # calibrated log-odds, per scored file
    labels: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        """The ``--json`` report. EERs are in percent, as ``eval sv`` reports them."""
        return {
            "eer": 100.0 * self.eer,
            "min_dcf": self.min_dcf,
            "auc": self.auc,
            "cllr": self.cllr,
            "per_system": {system: 100.0 * eer for system, eer in self.per_system.items()},
            "n_bonafide": self.n_bonafide,
            "n_spoof": self.n_spoof,
            "failures": self.failures,
        }


# Without a ``system`` column, the spoof corpus's own manifest names the system ``generator``
# (``voxguard.training.corpus``), so ``eval cm --manifest corpus/manifest.csv`` reports per
# generator instead of lumping every spoof together.
SYSTEM_COLUMNS = ("system", "generator")


def read_manifest(path: Path) -> list[ManifestRow]:
    """CSV with columns path,label[,system]; paths relative to the CSV's folder. A
    ``generator`` column stands in for a missing ``system`` column."""
    if not path.is_file():
        raise InvalidInput(f"manifest not found: {path}")
    with path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        columns = set(reader.fieldnames or [])
        if not {"path", "label"} <= columns:
            raise InvalidInput(
                f"manifest {path} needs the columns path,label[,system]; it has {sorted(columns)}"
            )
        system_column = next((c for c in SYSTEM_COLUMNS if c in columns), "")
        rows = []
        for n, r in enumerate(reader, start=2):
            label = (r["label"] or "").strip().lower()
            if label not in LABELS:
                raise InvalidInput(
                    f"{path}:{n}: label {r['label']!r} is neither 'bonafide' nor 'spoof'"
                )
            default_system = "human" if label == "bonafide" else "spoof"
            system = (r.get(system_column) or "").strip() or default_system
            rows.append(ManifestRow(path.parent / r["path"], LABELS[label], system))
    if not rows:
        raise InvalidInput(f"manifest {path} has no rows")
    return rows


def evaluate(
    rows: list[ManifestRow],
    detector: SpoofDetector,
    progress: Callable[[], None] | None = None,
) -> CmReport:
    """Score each file; files that cannot be scored are listed in ``failures``, not counted."""
    scores: list[float] = []
    labels: list[int] = []
    systems: list[str] = []
    failures: dict[str, str] = {}
    for row in rows:
        try:
            result = detector.detect(row.path)
        except VoxGuardError as exc:
            failures[str(row.path)] = exc.message
        else:
            # Calibrated log-odds at equal priors, i.e. a log-likelihood ratio (for Cllr),
            # through the calibration detect applied (phone lines have their own).
            scores.append(
                float(detector.log_odds(result.score, result.channel, result.short_speech))
            )
            labels.append(row.label)
            systems.append(row.system)
        if progress is not None:
            progress()
    s, y = np.array(scores), np.array(labels)
    if not (y == 1).any() or not (y == 0).any():
        raise InvalidInput("need at least one scored bona fide and one scored spoof file")
    bona = s[y == 0]
    per_system = {}
    for system in sorted({sy for sy, lab in zip(systems, labels, strict=True) if lab == 1}):
        spoof = s[(np.array(systems) == system) & (y == 1)]
        per_system[system] = eer(
            np.r_[spoof, bona], np.r_[np.ones(spoof.size), np.zeros(bona.size)]
        )
    return CmReport(
        eer=eer(s, y),
        min_dcf=min_dcf(s, y),
        auc=roc_auc(s, y),
        cllr=cllr(s, y),
        per_system=per_system,
        n_bonafide=int((y == 0).sum()),
        n_spoof=int((y == 1).sum()),
        failures=failures,
        scores=scores,
        labels=labels,
    )


def plot_det(
    reports: list[CmReport], out: Path, title: str = "", names: list[str] | None = None
) -> None:
    """DET curves (miss vs false alarm on normal-deviate axes) as a PNG, one per report."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from scipy.stats import norm

    eps = 1e-4
    fig, ax = plt.subplots(figsize=(5, 5))
    for k, report in enumerate(reports):
        curve = detection_curve(report.scores, report.labels)
        miss = norm.ppf(np.clip(curve.miss_rate, eps, 1 - eps))
        fa = norm.ppf(np.clip(curve.false_alarm_rate, eps, 1 - eps))
        prefix = f"{names[k]}: " if names else ""
        ax.plot(fa, miss, label=f"{prefix}EER {100 * report.eer:.1f}%")
    ticks = [0.001, 0.01, 0.05, 0.2, 0.5, 0.8, 0.95]
    ax.set_xticks(norm.ppf(ticks), [f"{100 * t:g}" for t in ticks])
    ax.set_yticks(norm.ppf(ticks), [f"{100 * t:g}" for t in ticks])
    ax.set_xlim(norm.ppf(0.0005), norm.ppf(0.99))
    ax.set_ylim(norm.ppf(0.0005), norm.ppf(0.99))
    ax.set_xlabel("false alarm rate: bona fide called spoof (%)")
    ax.set_ylabel("miss rate: spoof called bona fide (%)")
    ax.set_title(title or "spoof detector DET")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper right", fontsize="small")
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
