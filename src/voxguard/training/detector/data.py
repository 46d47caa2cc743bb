"""Clip lists from the corpus, the demo pages and the shared genuine speech, and a feature cache.

Every clip goes through the serving front end (decode -> Silero VAD -> speech only ->
windows), so training sees exactly what ``voxguard detect`` sees. Each clip is used clean and,
with ``augment_copies``, again through random channel effects (the same for both classes).
"""

from __future__ import annotations

import argparse
import csv
import functools
import shutil
import sys
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from voxguard.audio import load_audio
from voxguard.audio.types import FloatArray
from voxguard.audio.vad import SpeechDetector, VadParams, speech_only
from voxguard.spoof.features import (
    FeatureParams,
    log_spectrogram,
    make_windows,
    normalize_level,
    phase_statistics,
    power_spectrogram,
    spectral_statistics,
    speech_or_fallback,
    summary_features,
)
from voxguard.training.demopages.guarding import DEFAULT_GUARD_DIR, HoldoutGuard
from voxguard.training.detector.augment import AUGMENTATIONS, random_channel


@dataclass(frozen=True)
class Clip:
    path: Path
    label: int  # 1 spoof, 0 bona fide
    system: str  # generator, or "human"
    # source: demo repository, "librispeech", "corpus:<generator family>", or for a vocoded
    # copy "vocoded:<its original's group>"
    group: str
    license: str = ""
    augmented: bool = False  # already a channel-augmented copy (the corpus ships its own)
    split: str = ""  # the corpus's speaker split (train / dev / test)


def demo_clips(root: Path) -> list[Clip]:
    """The demo-page clips; group = source repository (pages share recording conditions).

    Clips the holdout guard flags (copies of VoxGuard's hidden evaluation audio: 13 of the
    691 shared demos) are left out, so nothing trains, tunes or calibrates on them.
    """
    flagged = guard_flagged(root)
    rows = [r for r in csv.DictReader((root / "manifest.csv").open()) if r["path"] not in flagged]
    return [
        Clip(
            path=root / r["path"],
            label=int(r["label"] == "spoof"),
            system=r["system"],
            group="demos:" + r["source_repo"].split("/")[0],
            license=r.get("license", ""),
        )
        for r in rows
    ]


@functools.cache
def guard_flagged(root: Path, guard_dir: Path = DEFAULT_GUARD_DIR) -> frozenset[str]:
    """Manifest paths under ``root`` that the holdout guard drops (read once per folder)."""
    rows = list(csv.DictReader((root / "manifest.csv").open()))
    items = [(r["path"], root / r["path"], r.get("source_repo", "")) for r in rows]
    return _guard_flagged(items, guard_dir)


@functools.cache
def guard_flagged_files(
    root: Path, pattern: str, guard_dir: Path = DEFAULT_GUARD_DIR
) -> frozenset[str]:
    """Names of the files ``root.glob(pattern)`` that the holdout guard drops."""
    items = [(p.name, p, "") for p in sorted(root.glob(pattern))]
    return _guard_flagged(items, guard_dir)


def _guard_flagged(items: list[tuple[str, Path, str]], guard_dir: Path) -> frozenset[str]:
    """The keys of the (key, audio file, source repository) items the guard drops."""
    guard = HoldoutGuard(guard_dir)
    return frozenset(
        key for key, path, repo in items if guard.clip_reason(load_audio(path).samples, repo)
    )


# Group prefix of a copy made from another source's genuine clip (``vocoded.py``): the copy
# belongs to that source for every fold, so no fold trains on copies of what it holds out.
DERIVED_PREFIX = "vocoded:"


def source_group(group: str) -> str:
    """The source a clip's group belongs to: its own, or for a vocoded copy its original's."""
    return group.removeprefix(DERIVED_PREFIX)


def vocoded_clips(root: Path) -> list[Clip]:
    """HiFi-GAN copies of the demo pages' genuine clips (``vocoded.py``'s manifest.csv)."""
    manifest = root / "manifest.csv"
    if not manifest.is_file():
        raise FileNotFoundError(
            f"{manifest} not found: build it with python -m voxguard.training.detector.vocoded"
        )
    return [
        Clip(
            path=root / r["path"],
            label=1,
            system=r["system"],
            group=DERIVED_PREFIX + r["source_group"],
            license=r.get("license", ""),
        )
        for r in csv.DictReader(manifest.open())
    ]


REALWORLD_PREFIX = "realworld:"


def realworld_clips(root: Path) -> list[Clip]:
    """The real-world demo-page corpus (``voxguard.training.demopages``); group = source
    repository, system = ``family/system`` for synthetic clips. The builder has already run
    the holdout guard and deduplicated it against the demos."""
    manifest = root / "manifest.csv"
    if not manifest.is_file():
        raise FileNotFoundError(
            f"{manifest} not found: build it with make realworld-corpus SOURCES=DIR OUT={root}"
        )
    return [
        Clip(
            path=root / r["path"],
            label=int(r["label"] == "spoof"),
            system=f"{r['family']}/{r['system']}" if r["label"] == "spoof" else "human",
            group=REALWORLD_PREFIX + r["source_repo"],
            license=r.get("licence", ""),
        )
        for r in csv.DictReader(manifest.open())
    ]


def librispeech_clips(root: Path) -> list[Clip]:
    """The genuine LibriSpeech files, less any the holdout guard drops (none of the 251)."""
    flagged = guard_flagged_files(root, "*.flac")
    return [
        Clip(path=p, label=0, system="human", group="librispeech", license="CC-BY-4.0")
        for p in sorted(root.glob("*.flac"))
        if p.name not in flagged
    ]


def corpus_clips(root: Path) -> list[Clip]:
    """The generated corpus (manifest.csv: path,label,generator,...); group = generator."""
    manifest = root / "manifest.csv"
    if not manifest.is_file():
        return []
    clips = []
    for r in csv.DictReader(manifest.open()):
        label = int(r["label"] == "spoof")
        generator = r.get("generator") or "unknown"
        family = r.get("family") or generator
        clips.append(
            Clip(
                path=root / r["path"],
                label=label,
                system=f"{family}/{generator}" if label else "human",
                group="corpus:" + (family if label else "bonafide:" + generator),
                license=r.get("license", ""),
                augmented=(r.get("augmentation") or "none") != "none",
                split=r.get("split", ""),
            )
        )
    return clips


@dataclass
class FeatureCache:
    specs: np.ndarray  # (windows, bands, frames) float16
    waves: np.ndarray  # (windows, samples) int16, level-normalised window audio
    stats: np.ndarray  # (windows, dims) float32
    window_clip: np.ndarray  # (windows,) index into clips
    window_aug: np.ndarray  # (windows,) 0 clean, 1 augmented, 2 short excerpt (repeated)
    clips: list[Clip]
    encoded: np.ndarray | None = None  # (windows, 768) speech-encoder activations, on demand
    summary: np.ndarray | None = None  # (windows, 26) the baseline's features, on demand
    phase: np.ndarray | None = None  # (windows, 128) phase and fine-spectrum view, on demand

    def clip_labels(self, clip_ids: np.ndarray) -> np.ndarray:
        """Label (0 genuine, 1 spoof) of each given clip index."""
        return np.array([self.clips[i].label for i in clip_ids])

    def save(self, path: Path) -> None:
        optional: dict[str, Any] = {
            name: value
            for name, value in (
                ("encoded", self.encoded),
                ("summary", self.summary),
                ("phase", self.phase),
            )
            if value is not None
        }
        np.savez(
            path,
            specs=self.specs,
            waves=self.waves,
            stats=self.stats,
            window_clip=self.window_clip,
            window_aug=self.window_aug,
            clip_path=np.array([str(c.path) for c in self.clips]),
            clip_label=np.array([c.label for c in self.clips]),
            clip_system=np.array([c.system for c in self.clips]),
            clip_group=np.array([c.group for c in self.clips]),
            clip_license=np.array([c.license for c in self.clips]),
            clip_augmented=np.array([c.augmented for c in self.clips]),
            clip_split=np.array([c.split for c in self.clips]),
            **optional,
        )

    @classmethod
    def load(cls, path: Path) -> FeatureCache:
        z = np.load(path)
        clips = [
            Clip(Path(p), int(lab), str(s), str(g), str(lic), bool(a), str(sp))
            for p, lab, s, g, lic, a, sp in zip(
                z["clip_path"],
                z["clip_label"],
                z["clip_system"],
                z["clip_group"],
                z["clip_license"],
                z["clip_augmented"] if "clip_augmented" in z else [False] * len(z["clip_path"]),
                z["clip_split"] if "clip_split" in z else [""] * len(z["clip_path"]),
                strict=True,
            )
        ]
        return cls(
            z["specs"],
            z["waves"],
            z["stats"],
            z["window_clip"],
            z["window_aug"],
            clips,
            encoded=z.get("encoded", None),
            summary=z.get("summary", None),
            phase=z.get("phase", None),
        )


def build_cache(
    clips: list[Clip],
    params: FeatureParams,
    augment_copies: int = 1,
    seed: int = 0,
    max_windows_per_clip: int = 6,
    short_excerpts: int = 0,
    channel: Callable[[FloatArray], FloatArray] | None = None,
    excerpt_s: tuple[float, float] | None = None,
    augmentation: str = "standard",
    augmented_only: bool = False,
) -> FeatureCache:
    """Decode, VAD, window and featurise every clip (clean plus augmented copies).

    ``channel``: applied to each decoded file before the VAD, to test the clips as heard
    through it (a phone line, say); the windows keep ``window_aug`` 0.

    ``short_excerpts``: per clip variant with at least one full window of speech, that many
    extra windows made the way a short clip reaches the model, from a random 1-3 s excerpt
    repeated to the window length (``window_aug`` 2, training only). Short genuine clips
    otherwise look synthetic to the model: the repetition seams are a cue it never saw on
    genuine speech of both classes alike.

    ``excerpt_s`` (test caches): each clip becomes one window instead, a speech excerpt of a
    random length in that range (seconds) repeated to the window length, as a short clip of
    that length reaches the model (``window_aug`` 0, no augmented copies); clips with less
    speech than the drawn length are left out.

    ``augmentation``: the channel effects of the copies (a key of ``AUGMENTATIONS``).
    ``augmented_only``: the augmented copies' windows alone (``with_augmented_from`` puts them
    in place of another cache's, so that two augmentations share every clean window).
    """
    if augmented_only and (short_excerpts or excerpt_s is not None):
        raise ValueError("augmented_only builds augmented copies alone: no excerpts")
    effects = AUGMENTATIONS[augmentation]
    rng = np.random.default_rng(seed)
    excerpt_rng = np.random.default_rng(seed + 1)  # leaves the augmented copies unchanged
    vad = SpeechDetector(threads=1)
    specs, waves, stats, owner, aug = [], [], [], [], []
    unreadable = 0
    for i, clip in enumerate(clips):
        if i % 100 == 0:
            print(f"features: {i}/{len(clips)}", file=sys.stderr, flush=True)
        try:
            samples = load_audio(clip.path).samples
            if channel is not None:
                samples = channel(samples)
        except Exception as exc:  # a broken file must not stop a long run
            print(f"skip {clip.path}: {exc}", file=sys.stderr)
            unreadable += 1
            continue
        speech, _ = speech_or_fallback(
            samples, speech_only(samples, vad.segments(samples, VadParams())), params
        )
        if excerpt_s is not None:
            stretch = random_stretch(speech, params, excerpt_rng, excerpt_s)
            if stretch is None:
                continue
            variants = [(0, stretch)]
        else:
            variants = [] if augmented_only else [(int(clip.augmented), speech)]
            copies = 0 if clip.augmented or clip.group.startswith("corpus:") else augment_copies
            variants += [(1, random_channel(speech, rng, effects)[0]) for _ in range(copies)]
        for tag, audio in variants:
            windows = make_windows(audio, params)
            if len(windows) > max_windows_per_clip:
                keep = rng.choice(len(windows), size=max_windows_per_clip, replace=False)
                windows = [windows[k] for k in sorted(keep)]
            tags = [tag] * len(windows)
            if audio.size >= params.window_samples:
                for _ in range(short_excerpts):
                    windows.append((0.0, short_excerpt(audio, params, excerpt_rng)))
                    tags.append(2)
            for (_, w), tag in zip(windows, tags, strict=True):
                spec = log_spectrogram(w, params)
                specs.append(spec.astype(np.float16))
                level = normalize_level(w, params.target_rms_dbfs)
                waves.append(np.clip(level * 32767, -32768, 32767).astype(np.int16))
                stats.append(spectral_statistics(spec))
                owner.append(i)
                aug.append(tag)
    if not specs:
        # np.stack of nothing says only "need at least one array": name the likely causes.
        needed = (
            f"an excerpt needs up to {excerpt_s[1]:g} s"
            if excerpt_s is not None
            else f"a window needs {params.min_speech_s:g} s"
        )
        raise ValueError(
            f"no window from {len(clips)} clips: {unreadable} could not be decoded and "
            f"{len(clips) - unreadable} have too little speech ({needed}; "
            "speech is what the VAD keeps, or the non-silent samples when it keeps almost "
            "nothing). Give at least one decodable clip (WAV, FLAC, MP3, OGG...) with speech"
        )
    return FeatureCache(
        specs=np.stack(specs),
        waves=np.stack(waves),
        stats=np.stack(stats),
        window_clip=np.array(owner),
        window_aug=np.array(aug),
        clips=clips,
    )


# Excerpt lengths in seconds: from the shortest speech the detector accepts to most of a window.
EXCERPT_S = (1.0, 3.0)


def random_stretch(
    audio: np.ndarray,
    params: FeatureParams,
    rng: np.random.Generator,
    seconds: tuple[float, float] = EXCERPT_S,
) -> np.ndarray | None:
    """A stretch of ``audio`` of a random length in ``seconds`` at a random start, or None
    when ``audio`` is shorter than the length drawn."""
    length = int(rng.uniform(*seconds) * params.sample_rate)
    if audio.size < length:
        return None
    start = int(rng.integers(0, audio.size - length + 1))
    return audio[start : start + length]


def short_excerpt(audio: np.ndarray, params: FeatureParams, rng: np.random.Generator) -> np.ndarray:
    """A random 1-3 s stretch of ``audio``, repeated to one window as ``make_windows`` does."""
    stretch = random_stretch(audio, params, rng)
    if stretch is None:
        raise ValueError(f"a short excerpt needs at least {EXCERPT_S[1]:g} s of audio")
    ((_, window),) = make_windows(stretch.astype(np.float32), params)
    return window


def concat_caches(caches: list[FeatureCache]) -> FeatureCache:
    """One cache from several (clip indices are re-based)."""
    offsets = np.cumsum([0] + [len(c.clips) for c in caches[:-1]])
    return FeatureCache(
        specs=np.concatenate([c.specs for c in caches]),
        waves=np.concatenate([c.waves for c in caches]),
        stats=np.concatenate([c.stats for c in caches]),
        window_clip=np.concatenate(
            [c.window_clip + o for c, o in zip(caches, offsets, strict=True)]
        ),
        window_aug=np.concatenate([c.window_aug for c in caches]),
        clips=[clip for c in caches for clip in c.clips],
        encoded=_joined([c.encoded for c in caches]),
        summary=_joined([c.summary for c in caches]),
        phase=_joined([c.phase for c in caches]),
    )


def _joined(parts: list[np.ndarray | None]) -> np.ndarray | None:
    """An on-demand feature of concatenated caches: kept only where every cache has it."""
    present = [p for p in parts if p is not None]
    return np.concatenate(present) if len(present) == len(parts) else None


def refresh_stats(cache: FeatureCache) -> FeatureCache:
    """Recompute the statistics from the cached spectrograms when their definition changed."""
    probe = spectral_statistics(cache.specs[0].astype(np.float32))
    if cache.stats.shape[1] != probe.size:
        cache.stats = np.stack([spectral_statistics(s.astype(np.float32)) for s in cache.specs])
    return cache


def with_encoder_features(
    cache: FeatureCache, params: FeatureParams, blocks: int = 1
) -> FeatureCache:
    """Fill ``cache.encoded`` from the cached window audio (Whisper prefix; a few minutes).
    ``blocks`` > 1: the pooled outputs of the first ``blocks`` encoder blocks, joined (an
    experiment; the served model reads block 1 only)."""
    if cache.encoded is not None and len(cache.encoded) == len(cache.waves):
        return cache
    from voxguard.training.detector.encoder import encoder_features, load_whisper_prefix

    prefix = load_whisper_prefix(layers=blocks, pool_each=blocks > 1)
    parts = []
    for k in range(0, len(cache.waves), 256):
        if k % 2560 == 0:
            print(f"encoder: {k}/{len(cache.waves)}", file=sys.stderr, flush=True)
        audio = cache.waves[k : k + 256].astype(np.float32) / 32768.0
        power = np.stack([power_spectrogram(w, params) for w in audio])
        parts.append(encoder_features(prefix, power))
    cache.encoded = np.concatenate(parts)
    return cache


def with_summary_features(cache: FeatureCache, params: FeatureParams) -> FeatureCache:
    """Fill ``cache.summary``: the baseline's 26 librosa features of every cached window."""
    if cache.summary is None or len(cache.summary) != len(cache.waves):
        cache.summary = _per_window(cache, "summary", lambda w: summary_features(w, params))
    return cache


def with_phase_features(cache: FeatureCache) -> FeatureCache:
    """Fill ``cache.phase``: the phase view (``phase_statistics``) of every cached window."""
    if cache.phase is None or len(cache.phase) != len(cache.waves):
        cache.phase = _per_window(cache, "phase", phase_statistics)
    return cache


def _per_window(
    cache: FeatureCache, name: str, featurise: Callable[[FloatArray], FloatArray]
) -> np.ndarray:
    """``featurise`` of every cached window's audio, stacked (progress on stderr)."""
    rows = []
    for k, wave in enumerate(cache.waves):
        if k % 2000 == 0:
            print(f"{name} features: {k}/{len(cache.waves)}", file=sys.stderr, flush=True)
        rows.append(featurise(wave.astype(np.float32) / 32768.0))
    return np.stack(rows)


def subset(cache: FeatureCache, keep_clip: np.ndarray) -> FeatureCache:
    """The cache restricted to the clips where ``keep_clip`` is true (indices re-based)."""
    new_index = np.cumsum(keep_clip) - 1
    keep_w = keep_clip[cache.window_clip]
    return FeatureCache(
        specs=cache.specs[keep_w],
        waves=cache.waves[keep_w],
        stats=cache.stats[keep_w],
        window_clip=new_index[cache.window_clip[keep_w]],
        window_aug=cache.window_aug[keep_w],
        clips=[c for c, k in zip(cache.clips, keep_clip, strict=True) if k],
        encoded=None if cache.encoded is None else cache.encoded[keep_w],
        summary=None if cache.summary is None else cache.summary[keep_w],
        phase=None if cache.phase is None else cache.phase[keep_w],
    )


def collect(args: argparse.Namespace) -> list[Clip]:
    clips: list[Clip] = []
    if args.corpus:
        clips += corpus_clips(args.corpus)
    if args.demos:
        clips += demo_clips(args.demos)
    if args.realworld:
        clips += realworld_clips(args.realworld)
    if args.librispeech:
        clips += librispeech_clips(args.librispeech)
    if args.vocoded:
        clips += vocoded_clips(args.vocoded)
    return clips


def add_source_arguments(ap: argparse.ArgumentParser) -> None:
    """The data sources and the feature cache they are featurised into (once)."""
    ap.add_argument("--corpus", type=Path, help="generated corpus folder with manifest.csv")
    ap.add_argument("--demos", type=Path, help="demo-page clips folder with manifest.csv")
    ap.add_argument(
        "--realworld", type=Path, help="real-world demo-page corpus folder with manifest.csv"
    )
    ap.add_argument("--librispeech", type=Path, help="folder of genuine LibriSpeech FLAC files")
    ap.add_argument(
        "--vocoded",
        type=Path,
        help="HiFi-GAN copies of the demo genuine clips (voxguard.training.detector.vocoded)",
    )
    ap.add_argument(
        "--cache",
        type=Path,
        default=Path("artifacts/spoof_cache.npz"),
        help="feature cache: read when it exists, else built from the sources and saved",
    )
    ap.add_argument("--augment-copies", type=int, default=1)
    ap.add_argument(
        "--short-excerpts",
        type=int,
        default=0,
        help="extra training windows per clip from a repeated 1-3 s excerpt (both classes)",
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="featurise in this many processes (chunks of clips; seed + chunk index each)",
    )
    ap.add_argument(
        "--compact",
        action="store_true",
        help="compute the encoder and baseline features while featurising, then drop the "
        "window audio (a tenth of the memory; for corpora of many thousand clips)",
    )
    ap.add_argument(
        "--encoder-blocks",
        type=int,
        default=1,
        help="with --compact: the encoder view joins the pooled outputs of this many of "
        "Whisper's blocks (an experiment; the served model reads block 1 only)",
    )
    ap.add_argument(
        "--augmentation",
        choices=sorted(AUGMENTATIONS),
        default="standard",
        help="the channel effects of the augmented copies (both classes alike); voip adds "
        "Speex and Opus down to 6 kbit/s (an experiment that failed its rule; needs the "
        "ffmpeg command)",
    )


def ensure_cache(ap: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.cache.is_file():
        print(f"using cached features {args.cache}", file=sys.stderr)
        return
    if args.augmentation == "voip" and shutil.which("ffmpeg") is None:
        ap.error("--augmentation voip codes Speex with the ffmpeg command: install it first")
    clips = collect(args)
    if not clips:
        ap.error(
            f"{args.cache} does not exist and no clips: give --corpus, --demos, --realworld, "
            "--librispeech, --vocoded"
        )
    cache = build_cache_parallel(
        clips,
        FeatureParams(),
        args.augment_copies,
        args.seed,
        args.short_excerpts,
        jobs=args.jobs,
        compact=args.compact,
        encoder_blocks=args.encoder_blocks,
        augmentation=args.augmentation,
        augmented_only=getattr(args, "augmented_only", False),
    )
    args.cache.parent.mkdir(parents=True, exist_ok=True)
    cache.save(args.cache)


CHUNK_CLIPS = 1000


def build_cache_parallel(
    clips: list[Clip],
    params: FeatureParams,
    augment_copies: int,
    seed: int,
    short_excerpts: int,
    jobs: int = 1,
    compact: bool = False,
    encoder_blocks: int = 1,
    augmentation: str = "standard",
    augmented_only: bool = False,
) -> FeatureCache:
    """``build_cache``, as one call with ``seed`` (the default: ``jobs`` 1, not compact, the
    draws every earlier build made), or over contiguous chunks of at most ``CHUNK_CLIPS``
    clips, ``jobs`` worker processes at a time (chunk ``k`` draws its augmentation from
    ``seed + k``: the result depends on the clips and the seed, not on ``jobs``).

    ``compact``: each chunk also gets its encoder, baseline and phase features, then drops the
    window audio (``waves`` becomes zero samples wide); everything but re-featurising works.
    A worker holds one chunk at a time: about 1.5 GB, where 24,000 windows took 10 GB.
    ``encoder_blocks``: see ``with_encoder_features``; ``augmentation``, ``augmented_only``:
    see ``build_cache``.
    """
    if encoder_blocks != 1 and not compact:
        raise ValueError("encoder_blocks other than 1 needs compact featurising")
    if jobs <= 1 and not compact:
        return build_cache(
            clips,
            params,
            augment_copies,
            seed,
            short_excerpts=short_excerpts,
            augmentation=augmentation,
            augmented_only=augmented_only,
        )
    chunks = clip_chunks(len(clips))
    tasks = [
        (
            clips[c[0] : c[-1] + 1],
            params,
            augment_copies,
            seed + k,
            short_excerpts,
            compact,
            encoder_blocks,
            augmentation,
            augmented_only,
        )
        for k, c in enumerate(chunks)
    ]
    if len(tasks) == 1 or jobs <= 1:
        return concat_caches([_featurise_chunk(task) for task in tasks])
    if compact:
        compile_librosa_kernels(params)
    with ProcessPoolExecutor(jobs, max_tasks_per_child=1) as pool:
        return concat_caches(list(pool.map(_featurise_chunk, tasks)))


def _featurise_chunk(
    task: tuple[list[Clip], FeatureParams, int, int, int, bool, int, str, bool],
) -> FeatureCache:
    clips, params, copies, seed, excerpts, compact, encoder_blocks, effects, aug_only = task
    cache = build_cache(
        clips,
        params,
        copies,
        seed,
        short_excerpts=excerpts,
        augmentation=effects,
        augmented_only=aug_only,
    )
    return compact_views(cache, params, encoder_blocks) if compact else cache


def clip_chunks(clips: int) -> list[np.ndarray]:
    """The contiguous chunks of at most ``CHUNK_CLIPS`` clip indices a parallel build
    featurises (chunk ``k`` draws from ``seed + k``)."""
    count = max(1, -(-clips // CHUNK_CLIPS))
    return [c for c in np.array_split(np.arange(clips), count) if c.size]


def compile_librosa_kernels(params: FeatureParams) -> None:
    """librosa compiles its numba kernels on first use and caches them beside its own files;
    workers compiling them at the same moment have left a corrupt cache that crashed every
    later worker (a segfault in piptrack). Call once before starting workers."""
    noise = np.random.default_rng(0).normal(0.0, 0.1, params.sample_rate)
    summary_features(noise.astype(np.float32), params)


def compact_views(
    cache: FeatureCache, params: FeatureParams, encoder_blocks: int = 1
) -> FeatureCache:
    """A compact build's chunk, in place: its encoder, baseline and phase views, then the
    window audio dropped (``waves`` zero samples wide)."""
    with_encoder_features(cache, params, encoder_blocks)
    with_summary_features(cache, params)
    with_phase_features(cache)
    cache.waves = np.zeros((len(cache.waves), 0), dtype=np.int16)
    return cache


def keep_encoder_values(cache: FeatureCache, count: int) -> FeatureCache:
    """Cut ``cache``'s encoder view to its first ``count`` values, in place (block 1 of a
    cache whose view joins several blocks: ``WhisperPrefix(pool_each=True)`` puts it first)."""
    if cache.encoded is None:
        raise ValueError("the cache has no encoder view (featurise it with --compact)")
    width = cache.encoded.shape[1]
    if not 0 < count <= width:
        raise ValueError(f"cannot keep {count} encoder values: the view has {width} (1-{width})")
    cache.encoded = np.ascontiguousarray(cache.encoded[:, :count])
    return cache


def drop_mixed_window_audio(caches: list[FeatureCache]) -> None:
    """Where compact caches (no window audio) meet full ones, drop the audio of all, in place,
    so that they can be joined."""
    if len({c.waves.shape[1] for c in caches}) > 1:
        for cache in caches:
            cache.waves = np.zeros((len(cache.waves), 0), dtype=np.int16)


def with_augmented_from(base: FeatureCache, augmented: FeatureCache) -> FeatureCache:
    """``base``'s clean and excerpt windows with ``augmented``'s augmented windows in place of
    its own: two augmentations compared on the very same clean windows. Both caches must hold
    the same clips in the same order (featurised from the same sources) and the same views;
    where one is compact, the result keeps no window audio. Neither input is changed."""
    base_paths = [str(c.path) for c in base.clips]
    if base_paths != [str(c.path) for c in augmented.clips]:
        raise ValueError(
            f"the caches hold different clips ({len(base.clips)} and {len(augmented.clips)}): "
            "featurise the augmented copies from the same sources, in the same order"
        )
    keep = base.window_aug != 1
    take = augmented.window_aug == 1
    clip_of = np.concatenate([base.window_clip[keep], augmented.window_clip[take]])
    order = np.argsort(clip_of, kind="stable")  # each clip's windows together, clean first

    def cat(mine: np.ndarray, theirs: np.ndarray) -> np.ndarray:
        return np.concatenate([mine[keep], theirs[take]])[order]

    def joined(mine: np.ndarray | None, theirs: np.ndarray | None) -> np.ndarray | None:
        return None if mine is None or theirs is None else cat(mine, theirs)

    if base.waves.shape[1] == augmented.waves.shape[1]:
        waves = cat(base.waves, augmented.waves)
    else:  # one is compact: the joined cache keeps no window audio (the inputs keep theirs)
        waves = np.zeros((clip_of.size, 0), dtype=np.int16)
    return FeatureCache(
        specs=cat(base.specs, augmented.specs),
        waves=waves,
        stats=cat(base.stats, augmented.stats),
        window_clip=clip_of[order],
        window_aug=cat(base.window_aug, augmented.window_aug),
        clips=base.clips,
        encoded=joined(base.encoded, augmented.encoded),
        summary=joined(base.summary, augmented.summary),
        phase=joined(base.phase, augmented.phase),
    )


def main(argv: list[str] | None = None) -> None:
    """Featurise the given sources into ``--cache`` (nothing else), e.g. a large corpus once,
    in parallel and compact, before the protocols and training read it."""
    ap = argparse.ArgumentParser(description=main.__doc__)
    add_source_arguments(ap)
    ap.add_argument(
        "--merge",
        type=Path,
        nargs="+",
        help="instead: join these caches (same feature definitions) into --cache",
    )
    ap.add_argument(
        "--encoder-values",
        type=int,
        help="with --merge: keep only the first N values of the encoder view (N = 768 gives "
        "block 1 of a cache featurised with --encoder-blocks 2: the served model's view of "
        "the same windows)",
    )
    ap.add_argument(
        "--augmented-only",
        action="store_true",
        help="featurise the augmented copies alone (for --augmented-from)",
    )
    ap.add_argument(
        "--augmented-from",
        type=Path,
        help="with --merge: the augmented windows come from this cache (built with "
        "--augmented-only from the same sources) instead of the merged caches' own",
    )
    args = ap.parse_args(argv)
    if args.encoder_values is not None and not args.merge:
        ap.error("--encoder-values only applies with --merge")
    if args.augmented_from is not None and not args.merge:
        ap.error("--augmented-from only applies with --merge")
    if args.merge:
        parts = [FeatureCache.load(p) for p in args.merge]
        if args.encoder_values is not None:
            for path, part in zip(args.merge, parts, strict=True):
                try:
                    keep_encoder_values(part, args.encoder_values)
                except ValueError as exc:
                    ap.error(f"{path}: {exc}")
        drop_mixed_window_audio(parts)
        merged = concat_caches(parts)
        if args.augmented_from is not None:
            try:
                merged = with_augmented_from(merged, FeatureCache.load(args.augmented_from))
            except ValueError as exc:
                ap.error(f"{args.augmented_from}: {exc}")
        args.cache.parent.mkdir(parents=True, exist_ok=True)
        merged.save(args.cache)
        return
    ensure_cache(ap, args)


if __name__ == "__main__":
    main()
