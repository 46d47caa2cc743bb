"""Speaker verification on readers AND babble talkers the back end has never seen.

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python bench/speaker_unseen.py --seeds 7 13
        [--recipe shipped] [--json OUT]

Why (issue 20): `bench/speaker_accuracy.py` fits the back end on one half of the readers and
tests on the other, but its babble talkers are drawn from all readers, so the WCCN and cohort
were fitted on views that contain the test's babble voices, and its babble views of the
fitting readers contain test readers. On a hidden set of unseen readers and unseen talkers
its babble gain vanished. This protocol keeps three sets apart:

- Readers (LibriSpeech, >= 6 s) are split into 5 seeded folds. Rotation i tests fold i, draws
  every test's babble talkers from fold i+1 and fits the back end's recipe (WCCN, cohorts,
  two-fold calibration) on the remaining 3 folds only. Fitting views of babble use talkers
  of the fitting reader's own fold (so inside the fitting set).
- Trials: within the test fold, each reader's enrollment (first half, clean; its simulated
  phone variant for phone tests) against every reader's test (second half) in four
  conditions: clean, 2 s cut, phone (300-3400 Hz, 8 kHz, GSM 06.10 via sox, else AMR-NB),
  babble of 3 unseen talkers at 5 dB SNR. All 5 rotations are pooled.
- VoxGuard scoring is routed as the engine routes it: each test's path comes from its own
  quality report (bandwidth, percentile SNR) and speech duration, then WCCN, AS-norm and the
  path's calibration give an LLR; EER is on the pooled LLRs. ("fixed path" = the dev
  mapping condition -> path that speaker_accuracy.py assumes, shown for reference.)
- Baseline: raw GE2E, Resemblyzer's preprocess_wav + embed_utterance, cosine.

Partial-window embeddings are cached (artifacts/speaker_unseen_seed{S}.npz), so back-end and
pooling variants (`--recipe`) are re-scored without re-embedding.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt

from voxguard.audio.analysis import AudioFrontEnd
from voxguard.audio.types import AudioClip, AudioMetadata
from voxguard.evaluation.metrics import eer
from voxguard.speaker.augment import phone_channel
from voxguard.speaker.backend import Wccn
from voxguard.speaker.calibration import LinearCalibration, fit_calibration
from voxguard.speaker.engine import load_speaker_encoder
from voxguard.speaker.scoring import AsNorm, unit_rows
from voxguard.speaker.training.backend_fit import (
    MID_BELOW_S,
    NOISY_BELOW_SNR_DB,
    NOISY_WCCN_VIEWS,
    PATHS,
    SHORT_BELOW_S,
    SHORT_WCCN_VIEWS,
    WCCN_SHRINK,
    WCCN_VIEWS,
    fit_wccn,
)
from voxguard.speaker.training.views import (
    BABBLE_SNR_DB,
    BABBLE_TALKERS,
    EXTRA_BABBLE,
    EXTRA_BABBLE_VIEWS,
    MIN_TRIAL_SECONDS,
    SpeechEmbedder,
    babble_mix,
    load_readers,
    make_trial_views,
    short_piece,
    split_halves,
    test_phone_channel,
)

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "librispeech"
FOLDS = 5
NARROWBAND_BELOW_HZ = 4500.0
CONDITIONS = ("clean", "cut2", "phone", "babble", "babble_both", "babble_enroll")
# Conditions whose enrollment is not the clean first half: babble (3 unseen talkers at 5 dB)
# on the enrollment too, with a babbled or a clean test.
ENROLL_VIEW = {"babble_both": "enroll_babble", "babble_enroll": "enroll_babble"}
TEST_VIEW = {"babble_both": "test_babble", "babble_enroll": "test_clean"}
Arr = npt.NDArray[np.float32]


# --- embedding (slow, cached) ---------------------------------------------------------------


def reader_folds(speakers: Sequence[str], seed: int) -> list[list[str]]:
    order = np.random.default_rng([seed, 5]).permutation(len(speakers))
    return [sorted(speakers[i] for i in order[f::FOLDS]) for f in range(FOLDS)]


def embed_reader(speaker, fold, folds, readers, seed, embedder, phone, reference, preprocess):  # type: ignore[no-untyped-def]
    """Partials of every view, quality of every routed test view, baseline embeddings."""
    encoder, front = embedder.encoder, embedder.front_end
    partials: dict[str, Arr] = {}
    quality: dict[str, Arr] = {}

    def routed(name: str, samples: Arr) -> None:
        speech, quality[name] = analyze(front, samples)
        partials[name] = encoder.partial_embeddings(speech)

    test_pool = folds[(fold + 1) % FOLDS]
    own_pool = [s for s in folds[fold] if s != speaker]
    views = make_trial_views(speaker, readers, test_pool, seed, phone=phone)
    for name, samples in views.items():
        routed(f"test_{name}", samples)
    _, test_half = split_halves(readers[speaker])
    rng = np.random.default_rng([seed, int(speaker), 2])
    mixed = babble_mix(test_half, readers, own_pool, BABBLE_TALKERS, BABBLE_SNR_DB, rng)
    routed("fit_babble", mixed)
    for (snr, n), name in zip(EXTRA_BABBLE, EXTRA_BABBLE_VIEWS, strict=True):
        routed(name, babble_mix(test_half, readers, own_pool, n, snr, rng))

    enroll_half, _ = split_halves(readers[speaker])
    quality["enroll"] = analyze(front, enroll_half)[1]
    erng = np.random.default_rng([seed, int(speaker), 3])
    enroll_babble = babble_mix(enroll_half, readers, test_pool, BABBLE_TALKERS, BABBLE_SNR_DB, erng)
    routed("enroll_babble", enroll_babble)
    routed(
        "fit_enroll_babble",
        babble_mix(enroll_half, readers, own_pool, BABBLE_TALKERS, BABBLE_SNR_DB, erng),
    )
    full = embedder.speech(readers[speaker])
    enroll = embedder.speech(enroll_half)
    srng = np.random.default_rng([seed, int(speaker), 1])
    enroll_short = short_piece(enroll, srng)
    test_short = short_piece(embedder.speech(test_half), srng)
    for name, samples in (
        ("full", full),
        ("full_phone", phone_channel(full)),
        ("enroll", enroll),
        ("enroll_phone", phone_channel(enroll)),
        ("enroll_short", enroll_short),
        ("enroll_short_phone", phone_channel(enroll_short)),
        ("test_short", test_short),
        ("test_short_phone", phone(test_short)),
    ):
        partials[name] = encoder.partial_embeddings(samples)
    base = {
        "enroll": reference.embed_utterance(preprocess(enroll_half)),
        "enroll_babble": reference.embed_utterance(preprocess(enroll_babble)),
    }
    for name, samples in views.items():
        base[f"test_{name}"] = reference.embed_utterance(preprocess(samples))
    return partials, quality, base


def analyze(front: AudioFrontEnd, samples: Arr) -> tuple[Arr, Arr]:
    """A recording's VAD speech (the whole clip under 0.5 s of speech, as `voxguard eval sv`)
    and its (SNR, bandwidth, speech s), as the engine measures them to route it."""
    meta = AudioMetadata("array", "pcm", 16000, 1, samples.size / 16000, 0)
    analyzed = front.analyze_clip(AudioClip(samples, 16000, meta))
    speech = analyzed.speech
    if speech.size < 16000 // 2:  # strict=False
        speech = samples
    q = analyzed.quality
    return speech, np.array([q.snr_db, q.bandwidth_hz, speech.size / 16000], np.float32)


def add_enrollment_quality(path: Path, data: Path) -> None:
    """Caches built before the enrollment's own quality was kept: add it (a few seconds)."""
    with np.load(path) as arrays:
        flat = {k: arrays[k] for k in arrays.files}
    speakers = [k.split("/")[1] for k in flat if k.startswith("fold/")]
    if all(f"q/{s}/enroll" in flat for s in speakers):
        return
    readers, front = load_readers(data), AudioFrontEnd()
    for speaker in speakers:
        flat[f"q/{speaker}/enroll"] = analyze(front, split_halves(readers[speaker])[0])[1]
    np.savez(path, **flat)


def build_cache(path: Path, data: Path, seed: int, limit: int, encoder: str = "ge2e") -> None:
    from resemblyzer import VoiceEncoder, preprocess_wav

    reference = VoiceEncoder(device="cpu", verbose=False)
    phone, codec = test_phone_channel()
    readers = load_readers(data)
    speakers = sorted(s for s, w in readers.items() if w.size >= MIN_TRIAL_SECONDS * 16000)
    if limit:
        speakers = speakers[:limit]
    folds = reader_folds(speakers, seed)
    embedder = SpeechEmbedder(load_speaker_encoder(encoder))
    flat: dict[str, np.ndarray] = {"codec": np.array(codec)}
    start = time.time()
    for fold, members in enumerate(folds):
        for speaker in members:
            partials, quality, base = embed_reader(
                speaker, fold, folds, readers, seed, embedder, phone, reference, preprocess_wav
            )
            flat.update({f"p/{speaker}/{v}": e.astype(np.float16) for v, e in partials.items()})
            flat.update({f"q/{speaker}/{v}": q for v, q in quality.items()})
            flat.update({f"b/{speaker}/{v}": e for v, e in base.items()})
            flat[f"fold/{speaker}"] = np.array(fold)
        print(f"  seed {seed}: fold {fold} done ({time.time() - start:.0f} s)", file=sys.stderr)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **flat)


@dataclass
class Run:
    """One seed's cache: partials, quality and baseline per reader, and the folds."""

    seed: int
    codec: str
    partials: dict[str, dict[str, Arr]]
    quality: dict[str, dict[str, Arr]]
    base: dict[str, dict[str, Arr]]
    folds: list[list[str]]


def load_run(path: Path, seed: int) -> Run:
    run = Run(seed, "", {}, {}, {}, [[] for _ in range(FOLDS)])
    with np.load(path) as arrays:
        for key in arrays.files:
            if key == "codec":
                run.codec = str(arrays[key])
                continue
            kind, speaker, *rest = key.split("/", 2)
            if kind == "fold":
                run.folds[int(arrays[key])].append(speaker)
                continue
            table = {"p": run.partials, "q": run.quality, "b": run.base}[kind]
            table.setdefault(speaker, {})[rest[0]] = arrays[key].astype(np.float32)
    run.folds = [sorted(f) for f in run.folds]
    return run


# --- pooling of partial windows ---------------------------------------------------------------


def pool_mean(partials: Arr) -> Arr:
    mean = partials.mean(axis=0)
    out: Arr = (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32)
    return out


def pool_trimmed(keep: float) -> Callable[[Arr], Arr]:
    """Mean of the ``keep`` fraction of partials closest to the clip's mean (dominant talker)."""

    def pool(partials: Arr) -> Arr:
        if partials.shape[0] < 3:
            return pool_mean(partials)
        sims = unit_rows(partials) @ pool_mean(partials)
        n = max(2, int(np.ceil(keep * partials.shape[0])))
        return pool_mean(partials[np.argsort(sims)[-n:]])

    return pool


def pool_weighted(power: float) -> Callable[[Arr], Arr]:
    """Mean weighted by (similarity to the clip's mean)^power, iterated twice."""

    def pool(partials: Arr) -> Arr:
        centre = pool_mean(partials)
        for _ in range(2):
            weights = np.clip(unit_rows(partials) @ centre, 0.0, None) ** power + 1e-6
            centre = pool_mean(partials * weights[:, None])
        return centre

    return pool


POOLS: dict[str, Callable[[Arr], Arr]] = {
    "mean": pool_mean,
    "trim75": pool_trimmed(0.75),
    "trim50": pool_trimmed(0.5),
    "w4": pool_weighted(4.0),
    "w8": pool_weighted(8.0),
}


# --- the back-end recipe, parameterised -------------------------------------------------------


@dataclass(frozen=True)
class Recipe:
    """What the back end is fitted on and how each path scores."""

    name: str
    pool: str = "mean"
    # WCCN name -> views of each fitting reader it is fitted on
    wccns: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: {"long": WCCN_VIEWS, "short": SHORT_WCCN_VIEWS}
    )
    shrink: float = WCCN_SHRINK
    # WCCN name -> dimensions kept by LDA before its whitening (none: plain WCCN)
    lda: Mapping[str, int] = field(default_factory=dict)
    # cohort name -> views of each fitting reader that enter it
    cohorts: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: {"clean": ("full",), "phone": ("full_phone",)}
    )
    # path -> (wccn, cohort or None); the default is ge2e-backend-2's
    paths: Mapping[str, tuple[str, str | None]] = field(
        default_factory=lambda: {
            "clean": ("long", None),
            "noisy": ("long", "clean"),
            "phone": ("long", "phone"),
            "mid": ("short", "clean"),
            "short": ("short", None),
            "short_phone": ("short", None),
        }
    )
    top_k: int = 50
    # dev condition -> (enrollment view, path), for calibration (as TEST_CONDITIONS)
    dev: Mapping[str, tuple[str, str]] = field(
        default_factory=lambda: {
            "clean": ("enroll", "clean"),
            "cut2": ("enroll", "mid"),
            "phone": ("enroll_phone", "phone"),
            "babble": ("enroll", "noisy"),
            "short": ("enroll", "short"),
            "short_phone": ("enroll_phone", "short_phone"),
        }
    )
    noisy_below_snr_db: float = NOISY_BELOW_SNR_DB
    # route a clean long test to the noisy path when the enrollment itself is noisy
    pair_noisy: bool = False
    # route a long clean test against a noisy enrollment to "noisy_enrolled", and with
    # pair_both a long noisy one to "noisy_both"
    pair_path: bool = False
    pair_both: bool = False


MC_VIEWS = (*WCCN_VIEWS, *EXTRA_BABBLE_VIEWS)
# ge2e-backend-2 (until 2026-12-05): the noisy path used the long WCCN.
SHIPPED = Recipe("backend2")
RECIPES: dict[str, Recipe] = {
    "backend2": SHIPPED,
    # ge2e-backend-3 (until 2026-12-06); ge2e-backend-4 is pair_path below
    "shipped": replace(
        SHIPPED,
        name="shipped",
        wccns={"long": WCCN_VIEWS, "short": SHORT_WCCN_VIEWS, "noisy": NOISY_WCCN_VIEWS},
        paths=dict(PATHS),
    ),
    "mc_wccn": replace(
        SHIPPED,
        name="mc_wccn",
        wccns={"long": MC_VIEWS, "short": (*SHORT_WCCN_VIEWS, *EXTRA_BABBLE_VIEWS)},
    ),
    # a WCCN of its own for the noisy path (multi-condition babble), the others unchanged
    "mc_noisy": replace(
        SHIPPED,
        name="mc_noisy",
        wccns={"long": WCCN_VIEWS, "short": SHORT_WCCN_VIEWS, "noisy": MC_VIEWS},
        paths={**SHIPPED.paths, "noisy": ("noisy", "clean")},
    ),
    "mc_noisy_mid": replace(
        SHIPPED,
        name="mc_noisy_mid",
        wccns={
            "long": WCCN_VIEWS,
            "short": SHORT_WCCN_VIEWS,
            "noisy": MC_VIEWS,
            "short_mc": (*SHORT_WCCN_VIEWS, *EXTRA_BABBLE_VIEWS),
        },
        paths={**SHIPPED.paths, "noisy": ("noisy", "clean"), "mid": ("short_mc", "clean")},
    ),
    "mc_noisy_babble_only": replace(
        SHIPPED,
        name="mc_noisy_babble_only",
        wccns={
            "long": WCCN_VIEWS,
            "short": SHORT_WCCN_VIEWS,
            "noisy": ("full", "enroll", "test_clean", "test_babble", *EXTRA_BABBLE_VIEWS),
        },
        paths={**SHIPPED.paths, "noisy": ("noisy", "clean")},
    ),
    "babble_cohort": replace(
        SHIPPED,
        name="babble_cohort",
        cohorts={"clean": ("full",), "phone": ("full_phone",), "babble": ("test_babble",)},
        paths={**SHIPPED.paths, "noisy": ("long", "babble")},
    ),
    "mixed_cohort": replace(
        SHIPPED,
        name="mixed_cohort",
        cohorts={"clean": ("full",), "phone": ("full_phone",), "mixed": ("full", "test_babble")},
        paths={**SHIPPED.paths, "noisy": ("long", "mixed")},
    ),
}
# Noisy enrollments (issue 20, docs/speaker-experiments/2026-12-06-babble-enrollment.md): a
# pair goes to the noisy path when either side is noisy, and that path is calibrated on
# babbled enrollments too; then also with babbled enrollments in its WCCN and its cohort.
_SHIPPED_NOW = RECIPES["shipped"]
_PAIR_DEV = {
    **_SHIPPED_NOW.dev,
    "babble_both": ("enroll_babble", "noisy"),
    "babble_enroll": ("enroll_babble", "noisy"),
}
RECIPES["pair_noisy"] = replace(_SHIPPED_NOW, name="pair_noisy", pair_noisy=True, dev=_PAIR_DEV)
RECIPES["pair_noisy_wccn"] = replace(
    RECIPES["pair_noisy"],
    name="pair_noisy_wccn",
    wccns={**_SHIPPED_NOW.wccns, "noisy": (*NOISY_WCCN_VIEWS, "enroll_babble")},
)
RECIPES["pair_noisy_wccn_cohort"] = replace(
    RECIPES["pair_noisy_wccn"],
    name="pair_noisy_wccn_cohort",
    cohorts={**_SHIPPED_NOW.cohorts, "mixed": ("full", "enroll_babble")},
    paths={**_SHIPPED_NOW.paths, "noisy": ("noisy", "mixed")},
)
# Calibrations of their own instead of the noisy path's: for a long clean test against a
# noisy enrollment ("noisy_enrolled", what ships as ge2e-backend-4), and also for a long
# noisy test against one ("noisy_both"); the noisy path's calibration and thresholds for
# clean enrollments stay as they were.
RECIPES["pair_path"] = replace(
    _SHIPPED_NOW,
    name="pair_path",
    pair_path=True,
    paths={**_SHIPPED_NOW.paths, "noisy_enrolled": ("noisy", "clean")},
    dev={**_SHIPPED_NOW.dev, "babble_enroll": ("enroll_babble", "noisy_enrolled")},
)
RECIPES["pair_path_both"] = replace(
    RECIPES["pair_path"],
    name="pair_path_both",
    pair_both=True,
    paths={**RECIPES["pair_path"].paths, "noisy_both": ("noisy", "clean")},
    dev={**RECIPES["pair_path"].dev, "babble_both": ("enroll_babble", "noisy_both")},
)
# LDA before the noisy path's whitening (docs/speaker-experiments/2026-12-06-lda-noisy-path.md)
for _dims in (32, 48, 64, 100):
    RECIPES[f"pair_path_lda{_dims}"] = replace(
        RECIPES["pair_path"], name=f"pair_path_lda{_dims}", lda={"noisy": _dims}
    )
for _pool in ("trim75", "trim50", "w4", "w8"):
    RECIPES[f"pool_{_pool}"] = replace(SHIPPED, name=f"pool_{_pool}", pool=_pool)


Table = dict[str, dict[str, Arr]]


def pooled_table(run: Run, pool: str) -> Table:
    fn = POOLS[pool]
    return {s: {v: fn(p) for v, p in views.items()} for s, views in run.partials.items()}


@dataclass(frozen=True)
class Backend:
    wccns: dict[str, Wccn]
    asnorms: dict[tuple[str, str], AsNorm]  # (wccn, cohort) -> AS-norm
    calibrations: dict[str, LinearCalibration]


def _fit_table(table: Table, fit: Sequence[str]) -> Table:
    """Fitting readers' views, with their own-fold babble standing in for the test babble."""
    return {
        s: {
            **table[s],
            "test_babble": table[s]["fit_babble"],
            "enroll_babble": table[s]["fit_enroll_babble"],
            "test_babble_both": table[s]["fit_babble"],
            "test_babble_enroll": table[s]["test_clean"],
        }
        for s in fit
    }


def fit_core(recipe: Recipe, table: Table, fit: Sequence[str]) -> Backend:
    wccns = {
        name: fit_wccn(table, fit, views, recipe.shrink, recipe.lda.get(name))
        for name, views in recipe.wccns.items()
    }
    asnorms = {}
    for wccn, cohort in {p for p in recipe.paths.values() if p[1] is not None}:
        members = np.stack([table[s][v] for s in fit for v in recipe.cohorts[cohort]])
        asnorms[(wccn, cohort)] = AsNorm(wccns[wccn].apply(members), recipe.top_k)
    return Backend(wccns, asnorms, {})


def score_matrix(backend: Backend, recipe: Recipe, path: str, enroll: Arr, test: Arr) -> Arr:
    wccn_name, cohort = recipe.paths[path]
    wccn = backend.wccns[wccn_name]
    e, t = wccn.apply(enroll), wccn.apply(test)
    raw: Arr = e @ t.T
    if cohort is None:
        return raw
    norm = backend.asnorms[(wccn_name, cohort)]
    e_mean, e_std = norm.stats_many(e)
    t_mean, t_std = norm.stats_many(t)
    out: Arr = 0.5 * (
        (raw - e_mean[:, None]) / e_std[:, None] + (raw - t_mean[None, :]) / t_std[None, :]
    )
    return out


def fit_backend(recipe: Recipe, table: Table, fit: Sequence[str], seed: int) -> Backend:
    """The recipe on ``fit`` only: WCCN + cohorts on all of it, calibration on two folds."""
    ftable = _fit_table(table, fit)
    order = np.random.default_rng([seed, 11]).permutation(len(fit))
    halves = [[fit[i] for i in order[: len(fit) // 2]], [fit[i] for i in order[len(fit) // 2 :]]]
    groups: dict[str, tuple[list[np.ndarray], list[np.ndarray]]] = {}
    for k in (0, 1):
        core = fit_core(recipe, ftable, halves[1 - k])
        trial = halves[k]
        labels = np.eye(len(trial), dtype=bool).reshape(-1)
        for condition, (enroll_view, path) in recipe.dev.items():
            e = np.stack([ftable[s][enroll_view] for s in trial])
            t = np.stack([ftable[s][f"test_{condition}"] for s in trial])
            g = groups.setdefault(path, ([], []))
            g[0].append(score_matrix(core, recipe, path, e, t).reshape(-1))
            g[1].append(labels)
    calibrations = {
        p: fit_calibration(np.concatenate(s).astype(np.float64), np.concatenate(y))
        for p, (s, y) in groups.items()
    }
    core = fit_core(recipe, ftable, fit)
    return Backend(core.wccns, core.asnorms, calibrations)


def condition_of(recipe: Recipe, quality: Arr) -> str:
    snr, bandwidth, _ = (float(x) for x in quality)
    if bandwidth < NARROWBAND_BELOW_HZ:
        return "phone"
    return "noisy" if snr < recipe.noisy_below_snr_db else "clean"


def path_of(recipe: Recipe, quality: Arr, enroll_quality: Arr | None = None) -> str:
    """The engine's routing (SpeakerBackend.condition_of + path_for)."""
    speech_s = float(quality[2])
    condition = condition_of(recipe, quality)
    enrolled_noisy = enroll_quality is not None and condition_of(recipe, enroll_quality) == "noisy"
    long_enough = speech_s >= MID_BELOW_S  # not the short or 2 s paths
    if recipe.pair_path and enrolled_noisy and condition == "clean" and long_enough:
        return "noisy_enrolled"
    if recipe.pair_both and enrolled_noisy and condition == "noisy" and long_enough:
        return "noisy_both"
    if (
        recipe.pair_noisy
        and enroll_quality is not None
        and condition == "clean"
        and condition_of(recipe, enroll_quality) == "noisy"
    ):
        condition = "noisy"
    if speech_s < SHORT_BELOW_S:
        return "short_phone" if condition == "phone" else "short"
    if condition == "phone":
        return "phone"
    if speech_s < MID_BELOW_S:
        return "mid"
    return "noisy" if condition == "noisy" else "clean"


FIXED_PATH = {
    "clean": "clean",
    "cut2": "mid",
    "phone": "phone",
    "babble": "noisy",
    "babble_both": "noisy",
    "babble_enroll": "clean",
}


def score_rotation(run: Run, table: Table, recipe: Recipe, rotation: int) -> dict[str, tuple]:  # type: ignore[type-arg]
    test = run.folds[rotation]
    held = set(test) | set(run.folds[(rotation + 1) % FOLDS])
    fit = [s for s in sorted(table) if s not in held]
    backend = fit_backend(recipe, table, fit, run.seed * 100 + rotation)
    labels = np.eye(len(test), dtype=bool)
    out: dict[str, tuple] = {}  # type: ignore[type-arg]
    for condition in CONDITIONS:
        view = TEST_VIEW.get(condition, f"test_{condition}")
        enroll_view = ENROLL_VIEW.get(condition, "enroll")
        tests = np.stack([table[s][view] for s in test])
        routed = np.zeros((len(test), len(test)))
        for i, enrolled in enumerate(test):
            # the pair's path can depend on the enrollment: one row of trials at a time
            enroll_quality = run.quality[enrolled].get(enroll_view)
            paths = [path_of(recipe, run.quality[s][view], enroll_quality) for s in test]
            for path in set(paths):
                cols = [j for j, p in enumerate(paths) if p == path]
                phone = path in ("phone", "short_phone") and enroll_view == "enroll"
                enroll = table[enrolled]["enroll_phone" if phone else enroll_view][None, :]
                scores = score_matrix(backend, recipe, path, enroll, tests[cols])[0]
                calibration = backend.calibrations[path]
                routed[i, cols] = calibration.scale * scores + calibration.offset
        fixed_path = FIXED_PATH[condition]
        fixed_view = "enroll_phone" if condition == "phone" else enroll_view
        enroll = np.stack([table[s][fixed_view] for s in test])
        fixed = score_matrix(backend, recipe, fixed_path, enroll, tests)
        b_e = unit_rows(np.stack([run.base[s][enroll_view] for s in test]))
        b_t = unit_rows(np.stack([run.base[s][view] for s in test]))
        raw = unit_rows(np.stack([table[s][enroll_view] for s in test])) @ unit_rows(tests).T
        out[condition] = (b_e @ b_t.T, raw, fixed, routed, labels, paths)
    return out


def evaluate(runs: Sequence[Run], recipe: Recipe) -> dict[str, dict[str, float]]:
    """EER % per condition of baseline / ours raw / fixed path / routed, pooled over runs."""
    parts: dict[str, list[list[np.ndarray]]] = {c: [[], [], [], [], []] for c in CONDITIONS}
    path_counts: dict[str, dict[str, int]] = {c: {} for c in CONDITIONS}
    for run in runs:
        table = pooled_table(run, recipe.pool)
        for rotation in range(FOLDS):
            for condition, (*mats, labels, paths) in score_rotation(
                run, table, recipe, rotation
            ).items():
                for i, m in enumerate((*mats, labels)):
                    parts[condition][i].append(np.asarray(m).reshape(-1))
                for p in paths:
                    path_counts[condition][p] = path_counts[condition].get(p, 0) + 1
    result: dict[str, dict[str, float]] = {}
    for condition, (b, r, f, o, y) in parts.items():
        labels = np.concatenate(y)
        row = {
            name: 100.0 * eer(np.concatenate(s).astype(np.float64), labels)
            for name, s in (("baseline", b), ("raw", r), ("fixed", f), ("voxguard", o))
        }
        row["ratio"] = row["voxguard"] / row["baseline"]
        row["n_target"] = float(labels.sum())
        row["n_nontarget"] = float((~labels).sum())
        result[condition] = row
        result[f"{condition}_paths"] = {k: float(v) for k, v in path_counts[condition].items()}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--seeds", type=int, nargs="+", default=[7, 13])
    parser.add_argument(
        "--recipe", nargs="+", default=["backend2", "shipped"], choices=sorted(RECIPES)
    )
    parser.add_argument("--limit", type=int, default=0, help="use only this many readers")
    parser.add_argument(
        "--encoder",
        choices=("ge2e", "campplus"),
        default="ge2e",
        help="what VoxGuard embeds with (the baseline stays raw GE2E)",
    )
    parser.add_argument("--per-seed", action="store_true", help="also print each seed alone")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    runs = []
    for seed in args.seeds:
        suffix = f"_{args.limit}" if args.limit else ""
        kind = "" if args.encoder == "ge2e" else f"{args.encoder}_"
        cache = ROOT / "artifacts" / f"speaker_unseen_{kind}seed{seed}{suffix}.npz"
        if not cache.is_file():
            build_cache(cache, args.data, seed, args.limit, args.encoder)
        add_enrollment_quality(cache, args.data)
        runs.append(load_run(cache, seed))
    results = {}
    groups = [("pooled", runs)] + ([(f"seed {r.seed}", [r]) for r in runs] if args.per_seed else [])
    for name in args.recipe:
        for label, subset in groups:
            res = evaluate(subset, RECIPES[name])
            results[f"{name} / {label}"] = res
            n_t = int(res["clean"]["n_target"])
            print(
                f"\n{args.encoder}, recipe {name}, {label} (seeds {[r.seed for r in subset]}, "
                f"{n_t} target / {int(res['clean']['n_nontarget'])} non-target trials per "
                f"condition; phone codec {runs[0].codec})"
            )
            print(
                f"{'condition':10s} {'baseline':>9s} {'VoxGuard':>9s} {'ratio':>6s}"
                f" {'raw ours':>9s} {'fixed path':>11s}  routed paths"
            )
            for c in CONDITIONS:
                r = res[c]
                paths = ", ".join(f"{k} {int(v)}" for k, v in sorted(res[f"{c}_paths"].items()))
                print(
                    f"{c:10s} {r['baseline']:9.2f} {r['voxguard']:9.2f} {r['ratio']:6.2f}"
                    f" {r['raw']:9.2f} {r['fixed']:11.2f}  {paths}"
                )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
