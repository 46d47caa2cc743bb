"""A view of the 8-10 kHz band for clips published above 16 kHz (an experiment).

The detector resamples everything to 16 kHz, so the band above 8 kHz, where a neural
vocoder's up-sampling leaves its marks, never reaches it. This module measures whether that
band tells vocoded copies from genuine recordings on sources never trained on:

- ``features``: each real-world corpus clip whose source file was sampled at 22.05 kHz or
  more is decoded again from its git blob at its own rate, resampled to 22.05 kHz, cut to
  the same segment as the 16 kHz clip, and described by ``band_features`` (level, flatness,
  ripple and envelope correlation of 4-10 kHz against 1-4 kHz). A clip "has the band" when
  the 9.5-10.5 kHz level over its louder half is above ``PRESENCE_DB`` relative to 1-4 kHz
  (above the transition band, and the stop-band floor, of a resampler that up-sampled a
  16 kHz recording).
- ``evaluate``: under the sources-kfold folds of ``protocols`` (``source_fold``), a
  class- and source-balanced logistic regression on the features of the training folds'
  clips that have the band scores the held-out clips that have it; its logit, scaled to the
  spread of the base detector's logits, is added to the base detector's out-of-fold logit
  (clips without the band keep the base logit). A metadata control does the same with the
  file's sample rate and format only: what the band view must beat.

Rule and results: ``docs/models/experiments/2026-12-06-high-band-view.md``.

    python -m voxguard.training.detector.high_band features --corpus /work/realworld \
        --sources /work/.mirror --out artifacts/high_band/features.npz --jobs 2
    python -m voxguard.training.detector.high_band evaluate \
        --features artifacts/high_band/features.npz --corpus /work/realworld \
        --base artifacts/high_band/base.json --approach fusion_ensemble \
        --out artifacts/high_band/report.json
"""

from __future__ import annotations

import argparse
import csv
import io
import itertools
import json
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import av
import numpy as np
from scipy import signal

from voxguard.audio import TARGET_SAMPLE_RATE, load_audio
from voxguard.audio.types import FloatArray
from voxguard.config import Settings
from voxguard.evaluation.metrics import eer
from voxguard.training.demopages.gitsource import BlobReader, find_git_dir
from voxguard.training.demopages.segment import segment_bounds
from voxguard.training.detector.protocols import source_fold
from voxguard.training.detector.stacking import (
    Fitter,
    Scorer,
    balanced_logistic,
    base_scores,
    fused_scores,
    metrics,
    scored_clips,
    summary_line,
)

BAND_RATE = 22050
MIN_SOURCE_RATE = 22050
PRESENCE_DB = -45.0
N_FFT = 512
HOP = 256
LR_C = 0.1
_BANDS_HZ = (4000, 5000, 6000, 7000, 8000, 9000, 10000)
_DECODE_SETTINGS = Settings(max_duration_s=3600.0, max_upload_mb=512)
FEATURE_NAMES = (
    *(f"rel_{a // 1000}k_mean" for a in _BANDS_HZ[:-1]),
    *(f"rel_{a // 1000}k_std" for a in _BANDS_HZ[:-1]),
    "flat_8_10k_mean",
    "flat_8_10k_std",
    "corr_8_10k_vs_1_4k",
    "corr_8_10k_vs_4_8k",
    "delta_8_10k_std",
    "ripple_std",
    "ripple_max",
    "ripple_time_std",
    "contrast_5_8k",
    "contrast_8_10k",
    "presence_db",
)
SAMPLE_RATE_BUCKETS = (22050, 24000, 32000, 44100, 48000)


def band_features(x: FloatArray) -> np.ndarray:
    """``FEATURE_NAMES`` of a mono clip at ``BAND_RATE``; NaN where the clip is too short."""
    out = np.full(len(FEATURE_NAMES), np.nan, dtype=np.float64)
    if x.size < N_FFT * 8:
        return out
    f, _, z = signal.stft(
        x.astype(np.float64), fs=BAND_RATE, nperseg=N_FFT, noverlap=N_FFT - HOP, boundary=None
    )
    p = np.abs(z) ** 2 + 1e-12

    def band(lo: float, hi: float) -> np.ndarray:
        return p[(f >= lo) & (f < hi)]

    ref = band(1000, 4000).mean(axis=0)
    level = 10 * np.log10(band(100, 8000).sum(axis=0))
    loud = level >= np.median(level)  # the louder half of the frames: mostly speech
    if loud.sum() < 8:
        return out
    rel = np.stack(
        [10 * np.log10(band(a, b).mean(axis=0) / ref) for a, b in itertools.pairwise(_BANDS_HZ)]
    )[:, loud]
    high = band(8000, 10000)
    flat = np.exp(np.log(high).mean(axis=0)) / high.mean(axis=0)
    log_high = 10 * np.log10(high.mean(axis=0))
    log_ref = 10 * np.log10(ref)
    log_mid = 10 * np.log10(band(4000, 8000).mean(axis=0))
    spectrum = 10 * np.log10(band(4000, 10000)[:, loud])
    smooth = signal.savgol_filter(spectrum, 9, 2, axis=0)
    resid = spectrum - smooth
    mean_resid = resid.mean(axis=1)

    def contrast(lo: float, hi: float) -> float:
        s = 10 * np.log10(band(lo, hi)[:, loud])
        return float((s - signal.savgol_filter(s, 9, 2, axis=0)).std(axis=0).mean())

    out[:] = [
        *rel.mean(axis=1),
        *rel.std(axis=1),
        float(flat[loud].mean()),
        float(flat[loud].std()),
        float(np.corrcoef(log_high[loud], log_ref[loud])[0, 1]),
        float(np.corrcoef(log_high[loud], log_mid[loud])[0, 1]),
        float(np.diff(log_high).std()),
        float(mean_resid.std()),
        float(np.abs(mean_resid).max()),
        float(resid.std(axis=1).mean()),
        contrast(5000, 8000),
        contrast(8000, 10000),
        float(10 * np.log10(band(9500, 10500)[:, loud].mean() / ref[loud].mean())),
    ]
    return out


def decode_at(data: bytes, rate: int) -> tuple[FloatArray, int]:
    """(mono float32 at ``rate``, the file's own sample rate) via PyAV."""
    with av.open(io.BytesIO(data), mode="r") as container:
        stream = container.streams.audio[0]
        native = int(stream.codec_context.sample_rate or stream.rate or 0)
        resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
        parts = [
            r.to_ndarray().reshape(-1)
            for frame in container.decode(stream)
            for r in resampler.resample(frame)
        ]
        parts += [r.to_ndarray().reshape(-1) for r in resampler.resample(None)]
    return np.concatenate(parts).astype(np.float32), native


def clip_band(data: bytes, segment: int) -> tuple[np.ndarray, int]:
    """The band features of one manifest clip (its segment of the blob) and the native rate."""
    samples, native = decode_at(data, BAND_RATE)
    if native < MIN_SOURCE_RATE:
        return np.full(len(FEATURE_NAMES), np.nan), native
    if segment >= 0:
        # The same cut as the 16 kHz clip the extractor wrote (segment_bounds on 16 kHz).
        bounds = segment_bounds(load_audio(data, _DECODE_SETTINGS).samples)
        a, b = bounds[segment]
        scale = BAND_RATE / TARGET_SAMPLE_RATE
        samples = samples[int(a * scale) : int(b * scale)]
    return band_features(samples), native


def _repo_rows(args: tuple[Path, str, list[dict[str, str]]]) -> list[tuple[str, np.ndarray, int]]:
    sources, repo, rows = args
    out = []
    with BlobReader(find_git_dir(sources, repo)) as reader:
        for r in rows:
            data = reader.read(r["blob"])
            if data is None:
                out.append((r["path"], np.full(len(FEATURE_NAMES), np.nan), 0))
                continue
            try:
                feats, native = clip_band(data, int(r["segment"]))
            except (av.error.FFmpegError, ValueError, IndexError):
                feats, native = np.full(len(FEATURE_NAMES), np.nan), 0
            out.append((r["path"], feats, native))
    return out


def compute_features(corpus: Path, sources: Path, jobs: int) -> dict[str, np.ndarray]:
    rows = list(csv.DictReader((corpus / "manifest.csv").open()))
    by_repo: dict[str, list[dict[str, str]]] = {}
    for r in rows:
        if int(r["source_sample_rate"] or 0) >= MIN_SOURCE_RATE:
            by_repo.setdefault(r["source_repo"], []).append(r)
    done: dict[str, tuple[np.ndarray, int]] = {}
    with ProcessPoolExecutor(jobs) as pool:
        for result in pool.map(_repo_rows, [(sources, k, v) for k, v in by_repo.items()]):
            done.update({p: (x, n) for p, x, n in result})
            print(f"  {len(done)} clips", file=sys.stderr, flush=True)
    nan = np.full(len(FEATURE_NAMES), np.nan)
    return {
        "path": np.array([r["path"] for r in rows]),
        "features": np.stack([done.get(r["path"], (nan, 0))[0] for r in rows]),
        "native_rate": np.array([int(r["source_sample_rate"] or 0) for r in rows]),
        "source_format": np.array([r["source_format"] for r in rows]),
    }


def metadata_features(native_rate: np.ndarray, source_format: np.ndarray) -> np.ndarray:
    """The control: one-hot sample rate bucket and container/codec, nothing of the audio."""
    formats = sorted(set(source_format.tolist()))
    rate = np.stack([native_rate == r for r in SAMPLE_RATE_BUCKETS], axis=1)
    fmt = np.stack([source_format == f for f in formats], axis=1)
    return np.concatenate([rate, fmt], axis=1).astype(np.float64)


def _view(x: np.ndarray, y: np.ndarray, groups: np.ndarray) -> Fitter:
    """The view's fitter for ``stacking.fused_scores``."""

    def fit(train: np.ndarray) -> Scorer:
        logit = balanced_logistic(x[train], y[train], groups[train], LR_C, max_iter=2000)
        return lambda mask: logit(x[mask])

    return fit


def family_lofo(
    x: np.ndarray,
    present: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray,
    families: np.ndarray,
    base: dict[str, dict[int, float]],
    weight: float,
) -> dict[str, dict[str, float]]:
    """families-lofo (reported, not in the rule): each spoof family held out in turn and
    scored against the fixed genuine pool of ``protocols`` (sources in folds 0 and 1); the
    view is fitted on the other families' band clips and the genuine clips outside the pool,
    and enters with ``weight`` (the sources-kfold folds' mean). ``base``: family -> clip
    index -> the family fold's base logit."""
    fold = np.array([source_fold(g) for g in groups])
    pool = (y == 0) & np.isin(fold, (0, 1))
    out: dict[str, dict[str, float]] = {}
    for fam, scored in sorted(base.items()):
        held_spoof = (y == 1) & (families == fam)
        train = present & ~pool & ~held_spoof
        logit = balanced_logistic(x[train], y[train], groups[train], LR_C, max_iter=2000)
        idx = np.array(sorted(scored))
        b = np.array([scored[i] for i in idx])
        f = b.copy()
        band = present[idx]
        f[band] = b[band] + weight * logit(x[idx[band]])
        out[fam] = {"base": eer(b, y[idx]), "high_band": eer(f, y[idx])}
    return out


def evaluate(
    features: Path,
    corpus: Path,
    base_report: Path,
    approach: str,
    lofo_report: Path | None = None,
) -> dict[str, object]:
    c = scored_clips(corpus, base_report, approach)
    y, groups, systems, b = c.y, c.groups, c.systems, c.base
    z = np.load(features)
    root = str(corpus).rstrip("/") + "/"
    at = {root + p: i for i, p in enumerate(z["path"].tolist())}
    keep = [at[p] for p in c.paths]
    x = z["features"][keep]
    has = ~np.isnan(x).any(axis=1)
    present = has & (x[:, FEATURE_NAMES.index("presence_db")] > PRESENCE_DB)
    meta = metadata_features(z["native_rate"][keep], z["source_format"][keep])
    view, fused, weights = fused_scores(_view(np.nan_to_num(x), y, groups), present, y, groups, b)
    meta_view, meta_fused, _ = fused_scores(_view(meta, y, groups), present, y, groups, b)
    counts = {
        f"{name}_{cls}": int((sel & (y == c)).sum())
        for name, sel in (("clips", np.ones_like(present)), ("band", present))
        for c, cls in ((0, "genuine"), (1, "spoof"))
    }
    scored = present & ~np.isnan(view)
    lofo: dict[str, dict[str, float]] = {}
    if lofo_report is not None:
        row = {p: i for i, p in enumerate(c.paths)}
        per_fold: dict[str, dict[int, float]] = {}
        for key, v in base_scores(lofo_report, approach).items():
            path, _, fam = key.partition("@")
            if path in row:
                i = row[path]
                per_fold.setdefault(fam or str(c.family[i]), {})[i] = v
        lofo = family_lofo(
            np.nan_to_num(x), present, y, groups, c.family, per_fold, float(np.mean(weights))
        )
    return {
        "counts": counts,
        "presence_db": PRESENCE_DB,
        "weights": weights,
        "families_lofo": lofo,
        "base": metrics(b, y, groups, systems),
        "high_band": metrics(fused, y, groups, systems),
        "metadata_control": metrics(meta_fused, y, groups, systems),
        "band_clips_only": {
            "base": eer(b[scored], y[scored]),
            "view_alone": eer(view[scored], y[scored]),
            "metadata_alone": eer(meta_view[scored], y[scored]),
            "high_band": eer(fused[scored], y[scored]),
            "metadata_control": eer(meta_fused[scored], y[scored]),
        },
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = ap.add_subparsers(dest="command", required=True)
    f = sub.add_parser("features", help="decode the corpus's blobs again and measure the band")
    f.add_argument("--corpus", type=Path, required=True)
    f.add_argument("--sources", type=Path, required=True)
    f.add_argument("--out", type=Path, required=True)
    f.add_argument("--jobs", type=int, default=2)
    e = sub.add_parser("evaluate", help="sources-kfold: base detector with and without the view")
    e.add_argument("--features", type=Path, required=True)
    e.add_argument("--corpus", type=Path, required=True)
    e.add_argument("--base", type=Path, required=True, help="a protocols sources-kfold report")
    e.add_argument("--approach", default="fusion_ensemble")
    e.add_argument("--lofo-base", type=Path, help="a protocols families-lofo report (reported)")
    e.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    if args.command == "features":
        args.out.parent.mkdir(parents=True, exist_ok=True)
        np.savez(
            args.out, allow_pickle=False, **compute_features(args.corpus, args.sources, args.jobs)
        )
        return
    report = evaluate(args.features, args.corpus, args.base, args.approach, args.lofo_base)
    args.out.write_text(json.dumps(report, indent=1))
    for name in ("base", "high_band", "metadata_control"):
        print(summary_line(name, report[name]), file=sys.stderr)  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
