"""Fit the speaker back end shipped next to a speaker model (reproducible, seeded; sox for GSM).

    OMP_NUM_THREADS=1 .venv/bin/python scripts/fit_speaker_backend.py [--encoder ge2e]

Development protocol (documented in docs/speaker.md): every LibriSpeech reader in
../shared/data/librispeech with at least 6 s of audio; enrollment = first half of its
utterance, test = second half in four conditions (clean, 2 s cut, phone channel via GSM 06.10,
babble of three other readers at 5 dB). Writes ``src/voxguard/models/<encoder>/backend.npz``
(WCCN transform and cohort embeddings of all readers, clean and phone; no audio) and
``backend.json`` (calibration per condition, FAR thresholds, measured dev metrics).

Every file passes the holdout guard first (../shared/holdout-guard): a file it drops stops the
fit, named, before anything is embedded.

Calibration is fitted on two-fold scores (the WCCN and cohort used to score one half of the
readers were fitted on the other half), so it sees scores like those of unseen speakers.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

import numpy as np

from voxguard.evaluation.metrics import cllr, min_dcf
from voxguard.speaker.backend import BACKEND_FORMAT
from voxguard.speaker.engine import SPEAKER_MODELS, load_speaker_encoder
from voxguard.speaker.training.backend_fit import (
    ASNORM_TOP_K,
    DEV_CONDITIONS,
    MID_BELOW_S,
    NOISY_BELOW_SNR_DB,
    PATHS,
    SHORT_BELOW_S,
    WCCN_SHRINK,
    eer_percent,
    fit_backend,
    fit_calibrations,
    read_view_cache,
    two_fold_scores,
    write_view_cache,
)
from voxguard.speaker.training.views import (
    MIN_TRIAL_SECONDS,
    SpeechEmbedder,
    embed_views,
    load_readers,
    make_trial_views,
    test_phone_channel,
)
from voxguard.training.detector.data import guard_flagged_files

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "librispeech"
MODELS = ROOT / "src" / "voxguard" / "models"
VERSIONS = {"ge2e": "ge2e-backend-4", "campplus": "campplus-backend-1"}
SEED = 2026
CAVEATS = {
    "ge2e": "LibriSpeech train-clean-100 is in GE2E's training data: optimistic",
    "campplus": "whether LibriSpeech is in CAM++'s training data is not stated: maybe optimistic",
}


def guard_readers(data: Path) -> None:
    """Stop unless the holdout guard passes every file of ``data``."""
    flagged = sorted(guard_flagged_files(data, "*.flac"))
    if flagged:
        raise SystemExit(
            f"the holdout guard drops {len(flagged)} file(s) of {data} (they copy evaluation "
            f"audio): {', '.join(flagged)}; move them out of the folder and run again"
        )
    print(f"holdout guard: {len(list(data.glob('*.flac')))} files checked, none dropped")


def build_table(data: Path, seed: int, encoder: str) -> dict[str, dict[str, np.ndarray]]:
    guard_readers(data)
    readers = load_readers(data)
    speakers = sorted(s for s, w in readers.items() if w.size >= MIN_TRIAL_SECONDS * 16000)
    embedder = SpeechEmbedder(load_speaker_encoder(encoder))
    table: dict[str, dict[str, np.ndarray]] = {}
    start = time.time()
    phone, codec = test_phone_channel()
    print(f"test-side phone channel: {codec}")
    for i, speaker in enumerate(speakers):
        views = make_trial_views(speaker, readers, speakers, seed, phone=phone)
        table[speaker] = embed_views(speaker, readers, views, embedder, seed, phone, speakers)
        if i % 25 == 0:
            print(f"  {i}/{len(speakers)} readers embedded ({time.time() - start:.0f} s)")
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--encoder", choices=SPEAKER_MODELS, default="campplus")
    parser.add_argument(
        "--cache",
        type=Path,
        help="embedding cache (npz; default artifacts/backend_views.npz for GE2E, "
        "artifacts/backend_views_<encoder>.npz otherwise)",
    )
    parser.add_argument(
        "--cache-only",
        action="store_true",
        help="write the embedding cache and stop (the bundled back end is left as it is)",
    )
    args = parser.parse_args()
    suffix = "" if args.encoder == "ge2e" else f"_{args.encoder}"
    cache = args.cache or ROOT / "artifacts" / f"backend_views{suffix}.npz"
    out = MODELS / args.encoder

    if cache.is_file():
        table = read_view_cache(cache)
    else:
        table = build_table(args.data, args.seed, args.encoder)
        write_view_cache(cache, table)
    if args.cache_only:
        print(f"embedding cache: {cache}")
        return
    speakers = sorted(table)

    scores = two_fold_scores(table, speakers, seed=args.seed, conditions=tuple(DEV_CONDITIONS))
    calibrations = fit_calibrations(scores)
    metrics = {}
    for condition, result in scores.items():
        group = DEV_CONDITIONS[condition][1]
        llrs = np.array([calibrations[group].llr(s) for s in result.scores])
        metrics[condition] = {
            "eer_percent": round(eer_percent(result), 3),
            "min_dcf_p0.01": round(min_dcf(result.scores, result.labels), 4),
            "cllr": round(cllr(llrs, result.labels), 4),
            "n_target": int(result.labels.sum()),
            "n_nontarget": int((~result.labels).sum()),
        }
        metrics[condition]["path"] = group
        print(f"{condition:7s} two-fold dev: {metrics[condition]}")

    fitted = fit_backend(table, speakers)
    npz_bytes = fitted.npz_bytes()
    (out / "backend.npz").write_bytes(npz_bytes)
    model_version = load_speaker_encoder(args.encoder).model_version
    meta = {
        "format": BACKEND_FORMAT,
        "version": VERSIONS[args.encoder],
        "model_version": model_version,
        "npz_sha256": hashlib.sha256(npz_bytes).hexdigest(),
        "cohorts": sorted(fitted.cohorts),
        "wccns": sorted(fitted.wccns),
        "paths": {p: {"wccn": w, "cohort": c} for p, (w, c) in PATHS.items()},
        "narrowband_below_hz": 4500.0,
        "noisy_below_snr_db": NOISY_BELOW_SNR_DB,
        "short_below_s": SHORT_BELOW_S,
        "mid_below_s": MID_BELOW_S,
        "asnorm_top_k": ASNORM_TOP_K,
        "wccn_shrink": WCCN_SHRINK,
        "calibration": {c: cal.to_dict() for c, cal in calibrations.items()},
        "calibration_note": (
            "llr = scale * as_norm_score + offset (natural log), logistic regression with "
            "balanced classes; far_thresholds are as_norm_score thresholds whose false-accept "
            "rate on the two-fold dev non-target trials equals far_grid"
        ),
        "cohort": {
            "source": "LibriSpeech train-clean-100 (../shared/data/librispeech), CC BY 4.0",
            "n_speakers": len(speakers),
            "views": {
                "clean": "VAD speech of the whole utterance",
                "phone": "same through the engine's enrollment phone simulation (AMR-NB)",
            },
            "stored": f"{args.encoder} embeddings only, no audio",
        },
        "dev_protocol": {
            "script": "scripts/fit_speaker_backend.py",
            "seed": args.seed,
            "readers": len(speakers),
            "test_phone_codec": test_phone_channel()[1],
            "description": (
                "enroll = first half of each reader's utterance, test = second half: clean, "
                "2 s cut, phone (300-3400 Hz, 8 kHz, GSM 06.10 via sox), babble of 3 other readers "
                "at 5 dB SNR, and short tests (0.4-1.2 s of speech, clean and phone) for the "
                "short path; for the noisy path also the enrollment half babbled the same way "
                "against the babbled and the clean test (babble_both, babble_enroll); "
                "all-against-all trials; scores from two folds of readers "
                "(back end fitted on the other fold)"
            ),
            "metrics": metrics,
            "caveat": CAVEATS[args.encoder],
        },
    }
    (out / "backend.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(f"wrote {out / 'backend.npz'} ({len(npz_bytes) / 1e6:.2f} MB) and backend.json")


if __name__ == "__main__":
    main()
