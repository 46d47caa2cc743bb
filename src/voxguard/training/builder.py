"""Builds the corpus: for each generator, plan seeded jobs, synthesise, clean up, augment, write.

Every clip is written twice: the clean copy (``augmentation=none``) and one channel-augmented
copy (skipped when the drawn chain is empty). Each generator appends to its own manifest under
``manifests/`` and the merged ``manifest.csv`` is rewritten after each generator, so a partial
corpus is always usable. A generator whose part is marked done is skipped; an interrupted one
resumes where it stopped, since jobs and random draws depend only on the seed.
"""

from __future__ import annotations

import csv
import json
import logging
import time
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from voxguard.audio import TARGET_SAMPLE_RATE
from voxguard.audio.types import FloatArray
from voxguard.training.augment import augment
from voxguard.training.canonical import Canonicaliser, to_16k
from voxguard.training.generators import Generator, Job, PlanContext, all_generators
from voxguard.training.manifest import (
    COLUMNS,
    MANIFEST_NAME,
    PARTS_DIR,
    ManifestRow,
    ManifestWriter,
    merge_parts,
    read_manifest,
)
from voxguard.training.signal import write_wav
from voxguard.training.sources import load_sources
from voxguard.training.texts import Sentence, make_sentences

log = logging.getLogger(__name__)

SPLITS = (("train", 70), ("dev", 85), ("test", 100))
_BABBLE_POOL = 40
_SENTENCES = 2000


def stable_hash(*parts: object) -> int:
    return zlib.crc32("/".join(str(p) for p in parts).encode())


def clip_rng(seed: int, generator: str, index: int, stage: str) -> np.random.Generator:
    """One generator per clip and stage: draws never depend on what was built before."""
    return np.random.default_rng([seed, stable_hash(generator), index, stable_hash(stage)])


def split_for(key: str) -> str:
    """train/dev/test (70/15/15) from a key, the same on every machine."""
    bucket = stable_hash("split", key) % 100
    return next(name for name, upper in SPLITS if bucket < upper)


def split_key(generator: str, job: Job) -> str:
    """Real speakers (genuine and resynthesised) split by speaker; TTS clips by clip, since
    several engines have a single voice."""
    return job.speaker if job.source is not None else f"{generator}#{job.index}"


@dataclass
class BuildConfig:
    out: Path
    data_dir: Path
    seed: int = 0
    generators: Sequence[str] | None = None
    per_generator: int | None = None
    bonafide_limit: int | None = None  # units per genuine corpus; None keeps them all
    max_seconds_per_generator: float | None = None
    augmented_copies: bool = True


@dataclass
class GeneratorReport:
    name: str
    clips: int = 0
    failures: int = 0
    seconds: float = 0.0
    skipped: str = ""
    errors: list[str] = field(default_factory=list)


def select_generators(names: Sequence[str] | None) -> list[Generator]:
    known = all_generators()
    if not names:
        return known
    by_name = {g.name: g for g in known}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise ValueError(f"unknown generators {unknown}; known: {sorted(by_name)}")
    return [g for g in known if g.name in names]


class CorpusBuilder:
    def __init__(self, config: BuildConfig) -> None:
        self.config = config
        self.out = config.out
        self._canonical: Canonicaliser | None = None
        self._babble: list[FloatArray] = []

    def build(self) -> list[GeneratorReport]:
        cfg = self.config
        generators = select_generators(cfg.generators)
        self.out.mkdir(parents=True, exist_ok=True)
        sentences = make_sentences(_SENTENCES, cfg.seed)
        self._write_texts(sentences)
        sources = load_sources(cfg.data_dir, cfg.seed)
        log.info("loaded %d genuine units from %s", len(sources), cfg.data_dir)
        pool_rng = np.random.default_rng([cfg.seed, stable_hash("babble")])
        libri = [u.samples for u in sources if u.corpus == "librispeech"]
        self._babble = [libri[int(i)] for i in pool_rng.permutation(len(libri))[:_BABBLE_POOL]]
        context = PlanContext(sentences=sentences, sources=sources)
        reports = []
        for generator in generators:
            report = self._build_one(generator, context)
            reports.append(report)
            rows = merge_parts(self.out)
            self._write_summary(rows)
        return reports

    def _build_one(self, generator: Generator, context: PlanContext) -> GeneratorReport:
        cfg = self.config
        report = GeneratorReport(generator.name)
        done_marker = self.out / PARTS_DIR / f"{generator.name}.done"
        if done_marker.exists():
            report.skipped = "already built"
            return report
        reason = generator.unavailable_reason()
        if reason:
            report.skipped = reason
            log.warning("skipping %s: %s", generator.name, reason)
            return report
        if generator.family == "bonafide":
            count = cfg.bonafide_limit or 0
        elif cfg.per_generator is not None:
            count = cfg.per_generator
        else:
            count = generator.default_count
        plan_rng = np.random.default_rng([cfg.seed, stable_hash(generator.name, "plan")])
        jobs = generator.plan(count, plan_rng, context)
        part = self.out / PARTS_DIR / f"{generator.name}.csv"
        done = {row.path for row in read_manifest(part)} if part.exists() else set()
        started = time.monotonic()
        log.info("%s: %d jobs (%d rows already written)", generator.name, len(jobs), len(done))
        with ManifestWriter(part) as writer:
            for job in jobs:
                if f"{generator.name}/{job.clip_id}.wav" in done:
                    continue
                elapsed = time.monotonic() - started
                if cfg.max_seconds_per_generator and elapsed > cfg.max_seconds_per_generator:
                    log.warning("%s: time budget spent after %d jobs", generator.name, job.index)
                    break
                try:
                    rows = self._make_clip(generator, job)
                except Exception as exc:  # one bad clip must not stop a long build
                    report.failures += 1
                    report.errors.append(f"{job.clip_id}: {exc}"[:300])
                    log.warning("%s %s failed: %s", generator.name, job.clip_id, exc)
                    continue
                for row in rows:
                    writer.write(row)
                report.clips += 1
                if report.clips % 25 == 0:
                    log.info("%s: %d/%d clips", generator.name, report.clips, len(jobs))
            else:
                done_marker.touch()
        report.seconds = round(time.monotonic() - started, 1)
        log.info("%s: %d clips in %.0f s", generator.name, report.clips, report.seconds)
        report_path = self.out / PARTS_DIR / f"{generator.name}.report.json"
        report_path.write_text(json.dumps(asdict(report), indent=2) + "\n")
        return report

    def _make_clip(self, generator: Generator, job: Job) -> list[ManifestRow]:
        cfg = self.config
        if self._canonical is None:
            self._canonical = Canonicaliser()
        audio, rate = generator.synthesize(job)
        samples = to_16k(audio, rate)
        clean = self._canonical(samples, clip_rng(cfg.seed, generator.name, job.index, "clean"))
        if clean is None:
            raise ValueError("too little speech after trimming")
        base = ManifestRow(
            path=f"{generator.name}/{job.clip_id}.wav",
            label="bonafide" if generator.family == "bonafide" else "spoof",
            generator=generator.name,
            family=generator.family,
            voice=job.voice,
            speaker=job.speaker,
            text_id=job.text_id,
            augmentation="none",
            license=generator.license,
            duration_s=clean.size / TARGET_SAMPLE_RATE,
            split=split_for(split_key(generator.name, job)),
            source=f"{job.source.corpus}/{job.source.unit_id}" if job.source else "",
        )
        write_wav(self.out / base.path, clean, TARGET_SAMPLE_RATE)
        rows = [base]
        if cfg.augmented_copies:
            aug_rng = clip_rng(cfg.seed, generator.name, job.index, "augment")
            augmented, chain = augment(clean, aug_rng, self._babble)
            if chain != "none":
                path = f"{generator.name}/{job.clip_id}_aug.wav"
                write_wav(self.out / path, augmented, TARGET_SAMPLE_RATE)
                rows.append(replace(base, path=path, augmentation=chain))
        return rows

    def _write_texts(self, sentences: Sequence[Sentence]) -> None:
        with (self.out / "texts.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["text_id", "text"])
            for sentence in sentences:
                writer.writerow([sentence.text_id, sentence.text])

    def _write_summary(self, rows: list[ManifestRow]) -> None:
        counts = Counter((r.generator, r.label, r.augmentation != "none") for r in rows)
        summary = {
            "manifest": MANIFEST_NAME,
            "columns": list(COLUMNS),
            "seed": self.config.seed,
            "clips": len(rows),
            "duration_h": round(sum(r.duration_s for r in rows) / 3600, 3),
            "per_generator": {
                name: {
                    "clean": counts[(name, label, False)],
                    "augmented": counts[(name, label, True)],
                    "label": label,
                }
                for (name, label, _) in sorted(counts)
            },
            "runs": [
                json.loads(path.read_text())
                for path in sorted((self.out / PARTS_DIR).glob("*.report.json"))
            ],
        }
        (self.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        (self.out / "STATUS.md").write_text(status_markdown(rows, self.out))


def status_markdown(rows: Sequence[ManifestRow], out: Path) -> str:
    """A short note for whoever trains on a corpus that may still be growing."""
    per = Counter((r.generator, r.family, r.label) for r in rows if r.augmentation == "none")
    aug = Counter(r.generator for r in rows if r.augmentation != "none")
    seconds: dict[str, float] = {}
    for r in rows:
        seconds[r.generator] = seconds.get(r.generator, 0.0) + r.duration_s
    done = sorted(p.stem.removesuffix(".done") for p in (out / PARTS_DIR).glob("*.done"))
    lines = [
        "# Spoof training corpus: status",
        "",
        f"Updated {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}. "
        f"Manifest: `{out / MANIFEST_NAME}` (rewritten atomically after each generator; "
        "paths are relative to its folder).",
        "",
        f"Columns: `{','.join(COLUMNS)}`. `augmentation` is `none` for the clean copy; the "
        "`_aug` copy of the same clip shares its `split`, `speaker` and `text_id`.",
        "",
        "| generator | family | label | clean clips | augmented | hours | complete |",
        "| --- | --- | --- | ---: | ---: | ---: | --- |",
    ]
    for (name, family, label), count in sorted(per.items(), key=lambda kv: kv[0][0]):
        lines.append(
            f"| {name} | {family} | {label} | {count} | {aug[name]} | "
            f"{seconds[name] / 3600:.2f} | {'yes' if name in done else 'in progress'} |"
        )
    lines.append("")
    lines.append(
        f"Total: {len(rows)} files, {sum(seconds.values()) / 3600:.2f} h. Built by "
        "`python -m voxguard.training.corpus build` (docs/models/spoof-data.md)."
    )
    lines += ["", *_STATUS_NOTES]
    return "\n".join(lines) + "\n"


_STATUS_NOTES = (
    "Notes for training:",
    "- Protocol lists (speaker-disjoint in-domain split, leave-one-generator-out for each "
    "neural generator and each family): `python -m voxguard.training.protocols --manifest "
    "<corpus>/manifest.csv --out <corpus>/protocols`.",
    "- FSDD (about 40% of the clean genuine clips) is 8 kHz material: nothing above 4 kHz. "
    "Clean TTS clips are wideband. Band-limit both classes at random while training (or lean "
    "on the `_aug` copies, where narrowband codecs and 8 kHz resampling hit both classes "
    "alike), or the model learns 'narrowband means genuine'.",
    "- Levels (-26 dBFS active), VAD trimming and a faint noise floor are already applied to "
    "both classes; train and score on fixed windows of speech all the same.",
)
