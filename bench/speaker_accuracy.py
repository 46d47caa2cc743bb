"""Speaker-verification accuracy: raw GE2E baseline vs VoxGuard, same trials, same run.

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python bench/speaker_accuracy.py [--json OUT]

Protocol (seeded, see docs/speaker.md): LibriSpeech readers with >= 6 s of audio; enroll on the
first half of each utterance, test on the second half in four conditions (clean, cut to 2 s,
phone: 300-3400 Hz + 8 kHz + GSM 06.10 via sox when installed (else AMR-NB), babble of three
other readers at 5 dB SNR). Readers are split in two folds; VoxGuard's back end (WCCN, cohort)
is fitted on one fold and measured on the other, then the folds swap; EERs are on the pooled
scores. Baseline: Resemblyzer's preprocess_wav + embed_utterance + cosine, no normalisation.
Also: FSDD EER with the shipped back end (`voxguard eval sv --fsdd`'s protocol) and the
same FSDD protocol for the baseline. Needs the export extra (resemblyzer) for the baseline.
This bench measures the GE2E engine (``VOXGUARD_SPEAKER_MODEL=ge2e``), its views and its FSDD
run alike; ``bench/speaker_unseen.py --encoder campplus`` measures the default CAM++ engine.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from voxguard.audio.decode import load_audio
from voxguard.config import Settings
from voxguard.evaluation.metrics import eer
from voxguard.evaluation.speaker_eval import evaluate, fsdd_trials
from voxguard.speaker.engine import SpeakerEngine
from voxguard.speaker.scoring import AsNorm, unit_rows
from voxguard.speaker.training.backend_fit import (
    BENCH_CONDITIONS,
    TEST_CONDITIONS,
    ConditionScores,
    cohort_matrix,
    fit_backend,
    score_conditions,
    speaker_folds,
)
from voxguard.speaker.training.views import (
    MIN_TRIAL_SECONDS,
    SpeechEmbedder,
    embed_views,
    load_readers,
    make_trial_views,
    split_halves,
    test_phone_channel,
)

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
SEED = 7  # not the seed the shipped back end was fitted with


def embed_all(speakers, readers, seed, phone, reference, preprocess_wav):  # type: ignore[no-untyped-def]
    """Our views and the baseline's, per reader (the slow part; cached by main)."""
    embedder = SpeechEmbedder()
    ours: dict[str, dict[str, np.ndarray]] = {}
    base: dict[str, dict[str, np.ndarray]] = {}
    start = time.time()
    for i, speaker in enumerate(speakers):
        views = make_trial_views(speaker, readers, speakers, seed, phone=phone)
        ours[speaker] = embed_views(speaker, readers, views, embedder, seed, phone, speakers)
        enroll, _ = split_halves(readers[speaker])
        base[speaker] = {"enroll": reference.embed_utterance(preprocess_wav(enroll))}
        # The baseline has no phone simulation: its phone trials use the plain enrollment.
        base[speaker]["enroll_phone"] = base[speaker]["enroll"]
        for name, samples in views.items():
            base[speaker][f"test_{name}"] = reference.embed_utterance(preprocess_wav(samples))
        if i % 25 == 0:
            print(f"  {i}/{len(speakers)} readers ({time.time() - start:.0f} s)", file=sys.stderr)
    return ours, base


def save_tables(path: Path, ours: dict, base: dict) -> None:  # type: ignore[type-arg]
    flat = {f"ours/{s}/{v}": e for s, views in ours.items() for v, e in views.items()}
    flat.update({f"base/{s}/{v}": e for s, views in base.items() for v, e in views.items()})
    np.savez(path, **flat)


def load_tables(path: Path) -> tuple[dict, dict]:  # type: ignore[type-arg]
    tables: dict[str, dict[str, dict[str, np.ndarray]]] = {"ours": {}, "base": {}}
    for key, value in np.load(path).items():
        which, speaker, view = key.split("/", 2)
        tables[which].setdefault(speaker, {})[view] = value
    return tables["ours"], tables["base"]


def pooled(parts: list[dict[str, ConditionScores]], conditions) -> dict[str, float]:  # type: ignore[no-untyped-def]
    out = {}
    for condition in conditions:
        scores = np.concatenate([p[condition].scores for p in parts])
        labels = np.concatenate([p[condition].labels for p in parts])
        out[condition] = 100.0 * eer(scores, labels)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--limit", type=int, default=0, help="use only this many readers")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--cache", type=Path, help="embedding cache (default under artifacts/)")
    parser.add_argument(
        "--swap-halves",
        action="store_true",
        help="enroll on the second half of each utterance and test on the first",
    )
    args = parser.parse_args()

    from resemblyzer import VoiceEncoder, preprocess_wav

    reference = VoiceEncoder(device="cpu", verbose=False)
    phone, codec = test_phone_channel()
    readers = load_readers(args.data / "librispeech")
    speakers = sorted(s for s, w in readers.items() if w.size >= MIN_TRIAL_SECONDS * 16000)
    if args.limit:
        speakers = speakers[: args.limit]
    if args.swap_halves:  # rotate each utterance so that split_halves returns (second, first)
        readers = {
            s: np.concatenate([w[w.size // 2 :], w[: w.size // 2]]) for s, w in readers.items()
        }
    swap = "_swap" if args.swap_halves else ""
    cache = (
        args.cache
        or ROOT / "artifacts" / f"speaker_bench_seed{args.seed}_{len(speakers)}{swap}.npz"
    )
    if cache.is_file():
        ours, base = load_tables(cache)
    else:
        ours, base = embed_all(speakers, readers, args.seed, phone, reference, preprocess_wav)
        cache.parent.mkdir(parents=True, exist_ok=True)
        save_tables(cache, ours, base)

    folds = speaker_folds(speakers, args.seed)
    baseline, raw, asnorm_only, full = [], [], [], []
    for fold in (0, 1):
        trial, fit = folds[fold], folds[1 - fold]
        baseline.append(score_conditions(base, trial, None, BENCH_CONDITIONS))
        raw.append(score_conditions(ours, trial, None, BENCH_CONDITIONS))
        plain = {c: AsNorm(unit_rows(cohort_matrix(ours, fit, c)), 50) for c in ("clean", "phone")}
        asnorm_only.append(score_conditions(ours, trial, None, BENCH_CONDITIONS, plain))
        full.append(score_conditions(ours, trial, fit_backend(ours, fit)))
    table = {
        "baseline": pooled(baseline, BENCH_CONDITIONS),
        "vad_matched_enroll": pooled(raw, BENCH_CONDITIONS),
        "plus_asnorm": pooled(asnorm_only, BENCH_CONDITIONS),
        "voxguard": pooled(full, tuple(TEST_CONDITIONS)),
    }

    engine = SpeakerEngine(Settings(speaker_model="ge2e"))  # the engine the views are GE2E's of
    fsdd = evaluate(engine, fsdd_trials(args.data / "fsdd"))
    fsdd_base = baseline_fsdd(reference, preprocess_wav, args.data / "fsdd")

    n = len(speakers)
    print(
        f"\nLibriSpeech readers: {n} ({n} target, {n * (n // 2 - 1)} non-target trials "
        f"per condition, two folds); phone codec: {codec}; seed {args.seed}\n"
    )
    header = f"{'condition':10s} {'baseline EER%':>14s} {'VoxGuard EER%':>14s} {'ratio':>7s}"
    print(header + f"   {'(VAD+matched)':>14s} {'(+AS-norm)':>11s}")
    for condition in BENCH_CONDITIONS:
        b, o = table["baseline"][condition], table["voxguard"][condition]
        ratio = o / b if b > 0 else float("nan")
        print(
            f"{condition:10s} {b:14.2f} {o:14.2f} {ratio:7.2f}   "
            f"{table['vad_matched_enroll'][condition]:14.2f} "
            f"{table['plus_asnorm'][condition]:11.2f}"
        )
    for condition in ("short", "short_phone"):
        short = table["voxguard"][condition]
        print(f"{condition:10s} {'-':>14s} {short:14.2f}   (0.4-1.2 s of speech, no baseline)")
    print(
        f"\nFSDD (enroll 5 train recordings, test on index 0-4): VoxGuard EER {fsdd.eer:.2f}% "
        f"(minDCF {fsdd.min_dcf:.3f}, Cllr {fsdd.cllr:.3f}); baseline EER {fsdd_base:.2f}%"
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "readers": n,
                    "seed": args.seed,
                    "phone_codec": codec,
                    "eer_percent": table,
                    "fsdd": fsdd.to_dict(),
                    "fsdd_baseline_eer": fsdd_base,
                },
                indent=2,
            )
        )


def baseline_fsdd(reference, preprocess_wav, root: Path) -> float:  # type: ignore[no-untyped-def]
    trials = fsdd_trials(root)
    cache: dict[Path, np.ndarray] = {}

    def embed(path: Path) -> np.ndarray:
        if path not in cache:
            wav = preprocess_wav(load_audio(path).samples)
            if wav.size < 1600:  # webrtcvad trimmed everything: fall back to the whole clip
                wav = load_audio(path).samples
            cache[path] = reference.embed_utterance(wav)
        return cache[path]

    scores, labels = [], []
    for trial in trials:
        enroll = np.mean([embed(p) for p in trial.enroll], axis=0)
        enroll /= np.linalg.norm(enroll)
        scores.append(float(enroll @ embed(trial.test)))
        labels.append(trial.label)
    return 100.0 * eer(scores, labels)


if __name__ == "__main__":
    main()
