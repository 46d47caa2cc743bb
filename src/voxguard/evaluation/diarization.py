"""Diarization evaluation: a manifest of recordings with reference RTTM, scored by DER.

The diarization error rate and its parts come from ``pyannote.metrics`` (the reference
implementation most published numbers use): missed speech, false alarm and speaker confusion,
each as a share of the reference speech, after the optimal one-to-one mapping of hypothesis
labels onto reference speakers. ``collar=0.25`` is pyannote's convention: 0.25 s in all around
each reference boundary, 0.125 s either side, are not scored (md-eval's ``-c 0.125``).
Overlapped speech is scored (``skip_overlap=False``): each speaker in it counts.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from pyannote.core import Annotation, Segment, Timeline
from pyannote.metrics.diarization import DiarizationErrorRate

from voxguard.audio.types import AudioSource
from voxguard.diarization import Diarization, Turn, parse_rttm
from voxguard.errors import InvalidManifest

DEFAULT_COLLAR_S = 0.25
MANIFEST_COLUMNS = ("audio", "rttm")


class SupportsDiarize(Protocol):
    """What the evaluation needs of a diarizer (``voxguard.diarization.pipeline.Diarizer``)."""

    def diarize(self, source: AudioSource, num_speakers: int | None = None) -> Diarization: ...


@dataclass(frozen=True)
class DiarizationScore:
    """Seconds of scored reference speech and of each kind of error; rates are fractions."""

    speech_s: float  # reference speech scored (overlap counted once per speaker), DER's base
    missed_s: float
    false_alarm_s: float
    confusion_s: float

    def _rate(self, seconds: float) -> float:
        # pyannote's convention for a file without reference speech: any error is 100 %.
        if self.speech_s > 0:
            return seconds / self.speech_s
        return 0.0 if seconds == 0 else 1.0

    @property
    def der(self) -> float:
        return self._rate(self.missed_s + self.false_alarm_s + self.confusion_s)

    @property
    def missed(self) -> float:
        return self._rate(self.missed_s)

    @property
    def false_alarm(self) -> float:
        return self._rate(self.false_alarm_s)

    @property
    def confusion(self) -> float:
        return self._rate(self.confusion_s)

    def to_dict(self) -> dict[str, float]:
        """Rates in percent, and the scored speech in seconds."""
        return {
            "der": round(100 * self.der, 3),
            "missed": round(100 * self.missed, 3),
            "false_alarm": round(100 * self.false_alarm, 3),
            "confusion": round(100 * self.confusion, 3),
            "speech_s": round(self.speech_s, 3),
        }


def _annotation(turns: Iterable[Turn], uri: str) -> Annotation:
    """One segment per stretch of each speaker's speech: a speaker's own overlapping or
    touching turns are merged first, so nothing of one speaker is counted twice."""
    annotation = Annotation(uri=uri)
    by_speaker: dict[str, list[tuple[float, float]]] = {}
    for turn in turns:
        if turn.end_s > turn.start_s:
            by_speaker.setdefault(turn.speaker, []).append((turn.start_s, turn.end_s))
    for speaker, spans in by_speaker.items():
        timeline = Timeline([Segment(s, e) for s, e in spans]).support()
        for index, segment in enumerate(timeline):
            annotation[segment, f"{speaker}#{index}"] = speaker
    return annotation


def _uem(
    reference: Sequence[Turn], hypothesis: Sequence[Turn], duration_s: float | None
) -> Timeline:
    """The scored region: the whole recording (from 0), or at least every turn in it."""
    end = max((t.end_s for t in (*reference, *hypothesis)), default=0.0)
    return Timeline([Segment(0.0, max(end, duration_s or 0.0))])


class DiarizationScorer:
    """Scores files one by one and accumulates them the way pyannote's metric does: the
    aggregate DER is total error over total reference speech, not a mean of file DERs."""

    def __init__(self, collar: float = DEFAULT_COLLAR_S) -> None:
        self._metric = DiarizationErrorRate(collar=collar, skip_overlap=False)

    def add(
        self,
        reference: Sequence[Turn],
        hypothesis: Sequence[Turn],
        duration_s: float | None = None,
        uri: str = "recording",
    ) -> DiarizationScore:
        uem = _uem(reference, hypothesis, duration_s)
        if uem.duration() == 0:
            # Nothing in the file and nothing found: no error, and nothing for pyannote to crop.
            return DiarizationScore(0.0, 0.0, 0.0, 0.0)
        components = self._metric(
            _annotation(reference, uri), _annotation(hypothesis, uri), uem=uem, detailed=True
        )
        return _score(components)

    @property
    def total(self) -> DiarizationScore:
        return _score(self._metric.accumulated_)


def _score(components: dict[str, float]) -> DiarizationScore:
    return DiarizationScore(
        speech_s=float(components["total"]),
        missed_s=float(components["missed detection"]),
        false_alarm_s=float(components["false alarm"]),
        confusion_s=float(components["confusion"]),
    )


def score_diarization(
    reference_turns: Sequence[Turn],
    hypothesis_turns: Sequence[Turn],
    duration_s: float | None = None,
    collar: float = DEFAULT_COLLAR_S,
) -> DiarizationScore:
    """DER of one hypothesis against its reference (labels need not match: the best mapping
    of hypothesis labels onto reference speakers is found first)."""
    return DiarizationScorer(collar).add(reference_turns, hypothesis_turns, duration_s)


# --- manifests ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ManifestRow:
    audio: Path
    rttm: Path
    reference: list[Turn]

    @property
    def speakers(self) -> int:
        return len({t.speaker for t in self.reference})


def read_manifest(path: Path) -> list[ManifestRow]:
    """CSV with columns ``audio,rttm`` (paths relative to the CSV; more columns are ignored).
    Every row is checked before anything is diarized: both files exist and the RTTM parses."""
    if not path.is_file():
        raise InvalidManifest(f"manifest not found: {path}")
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in MANIFEST_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise InvalidManifest(
                f"manifest {path} needs the columns audio,rttm (paths relative to the CSV); "
                f"missing {','.join(missing)}",
                columns=reader.fieldnames or [],
            )
        rows = [_row(path, line, r) for line, r in enumerate(reader, start=2)]
    if not rows:
        raise InvalidManifest(f"manifest {path} has no rows")
    return rows


def _row(manifest: Path, line: int, row: dict[str, str]) -> ManifestRow:
    where = f"{manifest}:{line}"
    audio, rttm = (manifest.parent / (row.get(c) or "").strip() for c in MANIFEST_COLUMNS)
    for column, file in (("audio", audio), ("rttm", rttm)):
        if not (row.get(column) or "").strip():
            raise InvalidManifest(f"{where}: the {column} column is empty")
        if not file.is_file():
            raise InvalidManifest(f"{where}: {column} file not found: {file}")
    return ManifestRow(audio, rttm, read_reference(rttm, audio.stem, where))


def read_reference(rttm: Path, uri: str, where: str = "") -> list[Turn]:
    """The turns of ``uri`` in an RTTM file; a file holding a single recording may name it
    anything. Errors name the file and say what is accepted."""
    prefix = f"{where}: " if where else ""
    try:
        by_uri = parse_rttm(rttm.read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidManifest(
            f"{prefix}{rttm} is not valid RTTM ({exc}); expected lines "
            "'SPEAKER <file> 1 <onset> <duration> <NA> <NA> <speaker> <NA> <NA>'"
        ) from None
    if uri in by_uri:
        turns = by_uri[uri]
    elif len(by_uri) == 1:
        turns = next(iter(by_uri.values()))
    elif not by_uri:
        turns = []
    else:
        raise InvalidManifest(
            f"{prefix}{rttm} holds several recordings ({', '.join(sorted(by_uri))}) and none "
            f"is named {uri!r} after the audio file"
        )
    bad = [t for t in turns if t.start_s < 0 or t.end_s <= t.start_s]
    if bad:
        raise InvalidManifest(
            f"{prefix}{rttm}: a turn at {bad[0].start_s:.3f} s has a negative onset or a "
            "duration that is not positive"
        )
    return turns


# --- evaluation -----------------------------------------------------------------------------


@dataclass(frozen=True)
class FileResult:
    audio: Path
    score: DiarizationScore
    reference_speakers: int
    hypothesis_speakers: int


@dataclass(frozen=True)
class DiarizationReport:
    total: DiarizationScore
    files: list[FileResult]

    def to_dict(self, per_file: bool = False) -> dict[str, object]:
        report: dict[str, object] = {**self.total.to_dict(), "files": len(self.files)}
        if per_file:
            report["per_file"] = [
                {
                    "audio": str(f.audio),
                    **f.score.to_dict(),
                    "reference_speakers": f.reference_speakers,
                    "hypothesis_speakers": f.hypothesis_speakers,
                }
                for f in self.files
            ]
        return report


def evaluate(
    diarizer: SupportsDiarize,
    rows: Sequence[ManifestRow],
    oracle_speakers: bool = False,
    collar: float = DEFAULT_COLLAR_S,
    on_file: Callable[[], None] | None = None,
) -> DiarizationReport:
    """Diarize each file and score it; ``oracle_speakers`` gives the diarizer the reference's
    number of speakers."""
    scorer = DiarizationScorer(collar)
    results = []
    for row in rows:
        count = row.speakers if oracle_speakers and row.speakers > 0 else None
        hypothesis = diarizer.diarize(row.audio, num_speakers=count)
        score = scorer.add(row.reference, hypothesis.turns, hypothesis.duration_s, row.audio.stem)
        results.append(FileResult(row.audio, score, row.speakers, len(hypothesis.speakers)))
        if on_file is not None:
            on_file()
    return DiarizationReport(scorer.total, results)
