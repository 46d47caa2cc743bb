"""Window features for the classical-TTS head (docs/models/experiments/, 2026-12-06).

Reads a corpus built by ``python -m voxguard.training.corpus build`` with the classical
engines and the LibriSpeech units, guards every clip, splits the genuine units by reader,
and scores each clip through the serving path (``SpoofDetector``: its VAD, windows, level
normalisation, spectral statistics and main-model logits), clean and through channel copies
that both classes get alike:

- ``clean``, ``aug1``, ``aug2`` (``random_channel``, seeded per clip): the head's training
  copies, for every clip;
- ``amr-nb``: every TTS clip, for the leave-one-engine-out test;
- every ``TEST_CHANNELS`` channel: the fit readers' units, for the false-alarm gates.
"""

from __future__ import annotations

import csv
import zlib
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

from voxguard.audio import load_audio
from voxguard.audio.types import FloatArray
from voxguard.evaluation.conversations.build import ESPEAK_VOICES
from voxguard.training.demopages.guarding import DEFAULT_GUARD_DIR, HoldoutGuard
from voxguard.training.detector.augment import TEST_CHANNELS, random_channel
from voxguard.training.manifest import ManifestRow, read_manifest

# The engines the head is fitted on. RHVoice is left out, and so are the other voices built
# from CMU ARCTIC speakers: with them the head learned those speakers' own recordings too
# (genuine CMU ARCTIC clips on the demo pages were flagged;
# docs/models/experiments/2026-12-06-classical-tts-head-v2.md).
ENGINES = ("espeak-ng", "flite", "festival", "pico")
ARCTIC_VOICES = {
    "flite": frozenset({"awb", "rms", "slt"}),
    "festival": frozenset({"cmu_us_slt_arctic_hts"}),
    "rhvoice": frozenset({"alan", "bdl", "clb", "slt"}),
}
GENUINE = "librispeech"
TRAIN_COPIES = ("clean", "aug1", "aug2")
TEST_COPY = "amr-nb"
# Readers fitted on: 50 of the 251, so that the false-alarm bench keeps at least 201 unseen
# readers, where one file flagged is less than half a point.
FIT_READERS = 50


@dataclass(frozen=True)
class Clip:
    path: Path
    engine: str  # the generator, GENUINE for LibriSpeech units
    group: str  # the reader of a genuine unit, the clip itself for TTS
    copies: tuple[str, ...]

    @property
    def label(self) -> int:
        return int(self.engine != GENUINE)


def reader_of(speaker: str) -> str:
    """``libri-1234`` -> ``1234``."""
    return speaker.removeprefix("libri-")


def fit_readers(readers: Iterable[str], excluded: set[str], count: int = FIT_READERS) -> list[str]:
    """The first ``count`` readers by a fixed hash order, none of ``excluded``."""
    eligible = sorted(set(readers) - excluded)
    return sorted(
        sorted(eligible, key=lambda r: zlib.crc32(f"classical-head/{r}".encode()))[:count]
    )


def diarization_readers(labels: Path) -> set[str]:
    """The LibriSpeech readers heard as the human of a diarization ``tts`` conversation."""
    with labels.open(newline="") as handle:
        return {
            row["source"].split("-")[0] for row in csv.DictReader(handle) if row["synthetic"] == "0"
        }


def conversation_voice(row: ManifestRow) -> bool:
    """An espeak-ng clip spoken with a voice of the diarization set (kept out of the fit)."""
    return row.generator == "espeak-ng" and row.voice.split("@", 1)[0] in ESPEAK_VOICES


def select_clips(
    corpus: Path, excluded_readers: set[str]
) -> tuple[list[Clip], list[str], Counter[str]]:
    """The corpus clips the head may use, the fit readers, and how many clips each reason
    left out."""
    rows = read_manifest(corpus / "manifest.csv")
    readers = fit_readers(
        (reader_of(r.speaker) for r in rows if r.generator == GENUINE), excluded_readers
    )
    clips, left_out = [], Counter[str]()
    for row in rows:
        if row.augmentation != "none":
            continue
        if row.voice.split("@", 1)[0] in ARCTIC_VOICES.get(row.generator, ()):
            left_out["voice built from CMU ARCTIC speakers"] += 1
            continue
        if row.generator not in (GENUINE, *ENGINES):
            continue
        if conversation_voice(row):
            left_out["espeak-ng voice of the diarization set"] += 1
            continue
        path = corpus / row.path
        if row.generator != GENUINE:
            clips.append(Clip(path, row.generator, row.path, (*TRAIN_COPIES, TEST_COPY)))
            continue
        reader = reader_of(row.speaker)
        if reader not in readers:
            left_out["genuine unit of an evaluation reader"] += 1
            continue
        clips.append(Clip(path, GENUINE, reader, (*TRAIN_COPIES, *TEST_CHANNELS)))
    return clips, readers, left_out


def channel_copy(samples: FloatArray, copy: str, seed: int) -> FloatArray:
    """The clip as heard through ``copy``: itself, a seeded random channel, or a test channel."""
    if copy == "clean":
        return samples
    if copy.startswith("aug"):
        rng = np.random.default_rng([seed, int(copy[3:])])
        return random_channel(samples, rng)[0]
    return TEST_CHANNELS[copy](samples).astype(np.float32)


_WORKER: dict[str, Any] = {}


def _start_worker(guard_dir: Path) -> None:
    from voxguard.spoof import SpoofDetector

    _WORKER["detector"] = SpoofDetector(classical_head=False)
    _WORKER["guard"] = HoldoutGuard(guard_dir)


def score_clip(clip: Clip) -> dict[str, Any]:
    """The clip's guard verdict, then per copy: its windows' statistics and main logits, the
    block that scores it and whether it is short speech."""
    detector, guard = _WORKER["detector"], _WORKER["guard"]
    audio = load_audio(clip.path)
    reason = guard.audio_reason(audio.samples)
    if reason is not None:
        return {"clip": clip, "dropped": reason}
    seed = zlib.crc32(str(clip.group).encode() + clip.path.name.encode())
    views = []
    for copy in clip.copies:
        heard = replace(audio, samples=channel_copy(audio.samples, copy, seed))
        speech, _, _, windows = detector.speech_windows(heard)
        if not windows:
            continue
        samples = [w for _, w in windows]
        feeds = detector.feeds(samples)
        views.append(
            {
                "copy": copy,
                "stats": detector.window_statistics(samples, feeds),
                "main": detector.main_logits(feeds),
                "channel": detector.channel_of(speech),
                "short": detector.is_short(speech.size / detector.params.sample_rate),
            }
        )
    return {"clip": clip, "views": views}


@dataclass
class Features:
    """Windows (``stats``, ``window_view``) of views (one clip heard through one copy)."""

    stats: np.ndarray  # (windows, 892) float32
    window_view: np.ndarray  # (windows,) view index
    main_logits: np.ndarray  # (windows,) the main model's logits
    view_engine: np.ndarray  # (views,) str
    view_group: np.ndarray  # (views,) str: reader or clip
    view_copy: np.ndarray  # (views,) str
    view_channel: np.ndarray  # (views,) str: the calibration block
    view_short: np.ndarray  # (views,) bool
    view_path: np.ndarray  # (views,) str

    @property
    def view_label(self) -> np.ndarray:
        return np.asarray(self.view_engine != GENUINE, dtype=np.int64)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, **{k: getattr(self, k) for k in self.__dataclass_fields__})

    @classmethod
    def load(cls, path: Path) -> Features:
        with np.load(path, allow_pickle=False) as data:
            return cls(**{k: data[k] for k in cls.__dataclass_fields__})


def featurise(
    clips: list[Clip],
    jobs: int = 2,
    guard_dir: Path = DEFAULT_GUARD_DIR,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[Features, dict[str, str]]:
    """Every clip scored (``score_clip``) in ``jobs`` processes; the clips the guard dropped,
    with its reason."""
    results: Iterable[dict[str, Any]]
    if jobs > 1:
        pool = get_context("spawn").Pool(jobs, _start_worker, (guard_dir,))
        results = pool.imap(score_clip, clips, chunksize=4)
    else:
        pool = None
        _start_worker(guard_dir)
        results = map(score_clip, clips)
    stats, window_view, main = [], [], []
    meta: dict[str, list[Any]] = {k: [] for k in ("engine", "group", "copy", "channel")}
    meta |= {"short": [], "path": []}
    dropped: dict[str, str] = {}
    for done, result in enumerate(results, 1):
        clip = result["clip"]
        if "dropped" in result:
            dropped[str(clip.path)] = result["dropped"]
        for view in result.get("views", []):
            window_view.append(np.full(len(view["main"]), len(meta["path"])))
            stats.append(view["stats"])
            main.append(view["main"])
            for key, value in (
                ("engine", clip.engine),
                ("group", clip.group),
                ("copy", view["copy"]),
                ("channel", view["channel"]),
                ("short", view["short"]),
                ("path", str(clip.path)),
            ):
                meta[key].append(value)
        if progress is not None:
            progress(done, len(clips))
    if pool is not None:
        pool.close()
        pool.join()
    features = Features(
        stats=np.concatenate(stats).astype(np.float32),
        window_view=np.concatenate(window_view),
        main_logits=np.concatenate(main).astype(np.float32),
        view_engine=np.asarray(meta["engine"]),
        view_group=np.asarray(meta["group"]),
        view_copy=np.asarray(meta["copy"]),
        view_channel=np.asarray(meta["channel"]),
        view_short=np.asarray(meta["short"], dtype=bool),
        view_path=np.asarray(meta["path"]),
    )
    return features, dropped
