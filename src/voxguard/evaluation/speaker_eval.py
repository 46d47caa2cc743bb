"""Speaker-verification evaluation: trial lists, the FSDD protocol, metrics.

Embeddings are cached per file (and voiceprints per enrollment set) within one run, so a file
used in many trials is decoded and embedded once.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from voxguard.errors import InvalidInput
from voxguard.evaluation.metrics import cllr, eer, min_dcf
from voxguard.speaker.engine import SpeakerEngine
from voxguard.speaker.types import Embedding, VerificationResult, Voiceprint

FSDD_SPEAKERS = ("george", "jackson", "lucas", "nicolas", "theo", "yweweler")
FSDD_ENROLL_PER_SPEAKER = 5
FSDD_SEED = 0


@dataclass(frozen=True)
class Trial:
    enroll: tuple[Path, ...]
    test: Path
    label: int


@dataclass(frozen=True)
class SvReport:
    eer: float  # percent
    min_dcf: float  # p_target = 0.01
    cllr: float
    n_target: int
    n_nontarget: int

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


def read_trials(path: Path) -> list[Trial]:
    """CSV with header ``enroll,test,label``; ``enroll`` may hold several files joined by ``;``;
    paths are relative to the CSV's folder."""
    if not path.is_file():
        raise InvalidInput(f"Trial list not found: {path}")
    base = path.parent
    trials = []
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"enroll", "test", "label"} - set(reader.fieldnames or [])
        if missing:
            names = ", ".join(sorted(missing))
            raise InvalidInput(f"{path} must have the columns enroll,test,label; missing {names}.")
        for line, row in enumerate(reader, start=2):
            try:
                label = int(str(row["label"]).strip())
            except ValueError:
                raise InvalidInput(f"{path}:{line}: label must be 0 or 1.") from None
            if label not in (0, 1):
                raise InvalidInput(f"{path}:{line}: label must be 0 or 1, not {label}.")
            enroll = tuple(base / p.strip() for p in str(row["enroll"]).split(";") if p.strip())
            test = str(row["test"]).strip()
            if not enroll or not test:
                raise InvalidInput(f"{path}:{line}: enroll and test must name files.")
            trials.append(Trial(enroll=enroll, test=base / test, label=label))
    if not trials:
        raise InvalidInput(f"{path} holds no trials.")
    return trials


def fsdd_trials(root: Path) -> list[Trial]:
    """Enroll each speaker on 5 training recordings (index 5-49, seeded pick), test on every
    official test recording (index 0-4) of every speaker: all cross pairs."""
    if not root.is_dir():
        raise InvalidInput(f"FSDD folder not found: {root}")
    rng = np.random.default_rng(FSDD_SEED)
    enrollments: dict[str, tuple[Path, ...]] = {}
    tests: list[tuple[str, Path]] = []
    for speaker in FSDD_SPEAKERS:
        train = sorted(p for p in root.glob(f"*_{speaker}_*.wav") if int(p.stem.split("_")[2]) >= 5)
        test = sorted(p for p in root.glob(f"*_{speaker}_*.wav") if int(p.stem.split("_")[2]) < 5)
        if len(train) < FSDD_ENROLL_PER_SPEAKER or not test:
            raise InvalidInput(f"{root} does not look like FSDD: too few files for {speaker}.")
        picks = rng.choice(len(train), FSDD_ENROLL_PER_SPEAKER, replace=False)
        enrollments[speaker] = tuple(train[i] for i in sorted(picks))
        tests.extend((speaker, p) for p in test)
    return [
        Trial(enroll=enrollments[s], test=path, label=int(s == t))
        for s in FSDD_SPEAKERS
        for t, path in tests
    ]


class TrialScorer:
    """Scores trials with one engine, caching embeddings and voiceprints."""

    def __init__(self, engine: SpeakerEngine) -> None:
        self.engine = engine
        self._embeddings: dict[tuple[Path, bool], Embedding] = {}
        self._voiceprints: dict[tuple[Path, ...], Voiceprint] = {}

    def embedding(self, path: Path, variants: bool = False) -> Embedding:
        if not variants and (path, True) in self._embeddings:
            return self._embeddings[(path, True)]  # same vector, variants unused
        key = (path, variants)
        if key not in self._embeddings:
            self._embeddings[key] = self.engine.embed_source(path, variants=variants, strict=False)
        return self._embeddings[key]

    def voiceprint(self, paths: tuple[Path, ...]) -> Voiceprint:
        if paths not in self._voiceprints:
            embeddings = [self.embedding(p, variants=True) for p in paths]
            self._voiceprints[paths] = self.engine.enroll(embeddings)
        return self._voiceprints[paths]

    def score(self, trial: Trial) -> VerificationResult:
        return self.engine.verify(self.voiceprint(trial.enroll), self.embedding(trial.test))


def summarize(llrs: Sequence[float], labels: Sequence[int]) -> SvReport:
    scores = np.asarray(llrs, dtype=np.float64)
    y = np.asarray(labels, dtype=int)
    n_target, n_nontarget = int(y.sum()), int((1 - y).sum())
    if n_target == 0 or n_nontarget == 0:
        raise InvalidInput("The trial list needs at least one target and one non-target trial.")
    return SvReport(
        eer=round(100.0 * eer(scores, y), 4),
        min_dcf=round(min_dcf(scores, y, p_target=0.01), 4),
        cllr=round(cllr(scores, y), 4),
        n_target=n_target,
        n_nontarget=n_nontarget,
    )


def evaluate(
    engine: SpeakerEngine,
    trials: Sequence[Trial],
    on_trial: Callable[[], None] | None = None,
) -> SvReport:
    scorer = TrialScorer(engine)
    llrs = []
    for trial in trials:
        llrs.append(scorer.score(trial).llr)
        if on_trial is not None:
            on_trial()
    return summarize(llrs, [t.label for t in trials])
