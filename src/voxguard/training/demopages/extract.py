"""One repository -> guarded 16 kHz mono FLAC clips, a candidate list and a drop list.

Resumable per repository: a repository is done when ``sources/OWNER+NAME/DONE`` holds the
fingerprint of its rule file, the commit and this stage's version; anything else (an
interrupted run, an edited rule file) is rebuilt from scratch.
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from voxguard.audio import TARGET_SAMPLE_RATE, load_audio
from voxguard.audio.types import FloatArray
from voxguard.config import Settings
from voxguard.errors import VoxGuardError
from voxguard.spoof.features import DIGITAL_SILENCE
from voxguard.training.demopages.dedupe import envelope
from voxguard.training.demopages.gitsource import BlobReader, find_git_dir, list_audio
from voxguard.training.demopages.guarding import HoldoutGuard
from voxguard.training.demopages.rules import Labelled, RuleSet, Skip
from voxguard.training.demopages.segment import segment_bounds

EXTRACT_VERSION = "1"
MIN_CLIP_S = 0.5
_DECODE_SETTINGS = Settings(max_duration_s=3600.0, max_upload_mb=512)  # demo files, not uploads


class ReservedRepository(RuntimeError):
    """The holdout guard reserves this repository: it is never read."""


@dataclass(frozen=True)
class Candidate:
    """A clip that passed the rules and the guard; deduplication decides whether it stays."""

    path: str
    label: str
    system: str
    family: str
    language: str
    source_repo: str
    commit: str
    source_path: str
    blob: str
    segment: int
    duration: float
    licence: str
    utterance: str
    source_format: str
    source_sample_rate: int
    pcm_sha1: str


@dataclass(frozen=True)
class Drop:
    source_repo: str
    source_path: str
    blob: str
    stage: str
    reason: str


CANDIDATE_COLUMNS = tuple(Candidate.__dataclass_fields__)
DROP_COLUMNS = tuple(Drop.__dataclass_fields__)


def repo_folder(out: Path, repo: str) -> Path:
    return out / "sources" / repo.replace("/", "+")


def fingerprint(rule_set: RuleSet) -> str:
    h = hashlib.sha256(f"{EXTRACT_VERSION}\n{rule_set.commit}\n{rule_set.text}".encode())
    return h.hexdigest()


def is_done(out: Path, rule_set: RuleSet) -> bool:
    done = repo_folder(out, rule_set.repo) / "DONE"
    return done.exists() and done.read_text().strip() == fingerprint(rule_set)


def extract_repository(
    rule_set: RuleSet, sources: Path, out: Path, guard: HoldoutGuard
) -> tuple[int, int]:
    """Decode, guard and write every labelled clip of one repository; returns (kept, dropped)."""
    if guard.repo_reserved(rule_set.repo):
        raise ReservedRepository(
            f"{rule_set.repo} is reserved for VoxGuard's hidden evaluation: it must not be "
            "fetched, read or trained on. Remove its rule file."
        )
    folder = repo_folder(out, rule_set.repo)
    if folder.exists():
        shutil.rmtree(folder)  # an interrupted or outdated extraction starts over
    clips_dir = out / "clips" / rule_set.repo.replace("/", "+")
    if clips_dir.exists():
        shutil.rmtree(clips_dir)
    folder.mkdir(parents=True)
    git_dir = find_git_dir(sources, rule_set.repo)
    entries = list_audio(git_dir, rule_set.commit)
    candidates: list[Candidate] = []
    drops: list[Drop] = []
    seen_blobs: dict[str, str] = {}
    envelopes: list[FloatArray] = []

    def drop(path: str, blob: str, stage: str, reason: str) -> None:
        drops.append(Drop(rule_set.repo, path, blob, stage, reason))

    with BlobReader(git_dir) as reader:
        for entry in entries:
            what = rule_set.classify(entry.path)
            if isinstance(what, Skip):
                drop(entry.path, entry.blob, "rules", f"skipped: {what.why}")
                continue
            if not isinstance(what, Labelled):
                drop(entry.path, entry.blob, "rules", "unmatched: no rule or skip")
                continue
            if entry.blob in seen_blobs:
                drop(entry.path, entry.blob, "duplicate", f"same blob as {seen_blobs[entry.blob]}")
                continue
            seen_blobs[entry.blob] = entry.path
            reason = guard.blob_reason(entry.blob)
            if reason:
                drop(entry.path, entry.blob, "guard", reason)
                continue
            data = reader.read(entry.blob)
            if data is None:
                drop(entry.path, entry.blob, "source", "blob missing from the snapshot")
                continue
            try:
                clip = load_audio(data, _DECODE_SETTINGS)
            except VoxGuardError as exc:
                drop(entry.path, entry.blob, "decode", f"undecodable: {exc}")
                continue
            samples = clip.samples
            if samples.size < MIN_CLIP_S * TARGET_SAMPLE_RATE:
                drop(entry.path, entry.blob, "decode", f"shorter than {MIN_CLIP_S} s")
                continue
            if float(np.max(np.abs(samples))) < DIGITAL_SILENCE:
                drop(entry.path, entry.blob, "decode", "silent")
                continue
            reason = guard.audio_reason(samples)
            if reason:
                drop(entry.path, entry.blob, "guard", reason)
                continue
            bounds = segment_bounds(samples)
            for index, (a, b) in enumerate(bounds):
                part = samples[a:b]
                if len(bounds) > 1:
                    reason = guard.audio_reason(part)
                    if reason:
                        drop(entry.path, entry.blob, "guard", f"segment {index}: {reason}")
                        continue
                rel = _clip_path(rule_set.repo, entry.blob, index if len(bounds) > 1 else None)
                pcm = _write_flac(out / rel, part)
                envelopes.append(envelope(part))
                candidates.append(
                    Candidate(
                        path=rel,
                        label=what.label,
                        system=what.system,
                        family=what.family,
                        language=what.language,
                        source_repo=rule_set.repo,
                        commit=rule_set.commit,
                        source_path=entry.path,
                        blob=entry.blob,
                        segment=index if len(bounds) > 1 else -1,
                        duration=round(part.size / TARGET_SAMPLE_RATE, 3),
                        licence=rule_set.licence,
                        utterance=what.utterance,
                        source_format=f"{clip.metadata.container}/{clip.metadata.codec}",
                        source_sample_rate=clip.metadata.original_sample_rate,
                        pcm_sha1=pcm,
                    )
                )
    write_rows(folder / "candidates.csv", CANDIDATE_COLUMNS, [asdict(c) for c in candidates])
    save_envelopes(folder / "envelopes.npz", envelopes)
    write_rows(folder / "drops.csv", DROP_COLUMNS, [asdict(d) for d in drops])
    (folder / "summary.json").write_text(
        json.dumps({"repo": rule_set.repo, "kept": len(candidates), "dropped": len(drops)})
    )
    (folder / "DONE").write_text(fingerprint(rule_set) + "\n")
    return len(candidates), len(drops)


def save_envelopes(path: Path, envelopes: list[FloatArray]) -> None:
    lengths = np.array([e.size for e in envelopes], dtype=np.int64)
    frames = np.concatenate(envelopes) if envelopes else np.zeros(0, dtype=np.float32)
    np.savez(path, lengths=lengths, frames=frames.astype(np.float16))


def load_envelopes(path: Path) -> list[FloatArray]:
    with np.load(path) as z:
        ends = np.cumsum(z["lengths"])
        frames = z["frames"].astype(np.float32)
        return [frames[e - n : e] for e, n in zip(ends, z["lengths"], strict=True)]


def _clip_path(repo: str, blob: str, segment: int | None) -> str:
    suffix = "" if segment is None else f"_s{segment:02d}"
    return f"clips/{repo.replace('/', '+')}/{blob[:2]}/{blob}{suffix}.flac"


def to_pcm16(samples: FloatArray) -> np.ndarray:
    """The 16-bit samples a clip is stored and compared as."""
    return np.clip(np.round(samples * 32767.0), -32768, 32767).astype("<i2")


def pcm_sha1(pcm: np.ndarray) -> str:
    """The fingerprint of exact-content duplicates."""
    return hashlib.sha1(pcm.tobytes()).hexdigest()


def _write_flac(path: Path, samples: FloatArray) -> str:
    """16-bit FLAC; returns the ``pcm_sha1`` of what was written."""
    pcm = to_pcm16(samples)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), pcm, TARGET_SAMPLE_RATE, format="FLAC", subtype="PCM_16")
    return pcm_sha1(pcm)


def write_rows(path: Path, columns: tuple[str, ...], rows: Sequence[Mapping[str, object]]) -> None:
    """Write a CSV atomically (a temporary file renamed into place)."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(columns))
        writer.writeheader()
        writer.writerows(rows)
    tmp.replace(path)


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))
