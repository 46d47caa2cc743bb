"""The evaluation set: conversations in each condition, their references, manifests, summary.

Layout under ``out``: ``<condition>/<conv_id>.wav`` + ``.rttm``, ``<condition>/manifest.csv``
(``audio,rttm`` relative to it, then details), ``tts/labels.csv`` (which label is synthetic),
``speakers.csv`` (every LibriSpeech reader used, and as what) and ``summary.json``.

The ``clean``, ``phone`` and ``babble`` conditions hold the same conversations (same ids, same
references), so they can be compared file by file. Everything is drawn from ``seed``, with one
random stream per purpose, so conversation ``i`` is the same whatever ``per_condition`` is.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from voxguard.audio import TARGET_SAMPLE_RATE
from voxguard.audio.types import FloatArray
from voxguard.audio.vad import SpeechDetector
from voxguard.audio.wav import write_wav
from voxguard.diarization import to_rttm
from voxguard.evaluation.conversations.channels import (
    BABBLE_SNR_DB,
    BABBLE_TALKERS,
    PHONE_SAMPLE_RATE,
    babble,
    phone_call,
)
from voxguard.evaluation.conversations.timeline import ComposeParams, Conversation, compose
from voxguard.evaluation.conversations.voices import (
    PiperVoice,
    Voice,
    VoiceLoader,
    duration_s,
    espeak_available,
)
from voxguard.training.demopages.guarding import DEFAULT_GUARD_DIR, HoldoutGuard
from voxguard.training.texts import make_sentences

CONDITIONS = ("clean", "phone", "babble", "tts")
_MIXED_CONDITIONS = ("clean", "phone", "babble")
DEFAULT_LIBRISPEECH = Path(__file__).resolve().parents[5] / "shared" / "data" / "librispeech"
# Readers whose recording is at least this long take part in conversations; the shorter ones
# are the babble crowd, so nobody is heard both in a conversation and in the babble.
MIN_TALKER_RECORDING_S = 10.0
# espeak-ng's English voices and variants (plain espeak-ng; no MBROLA voices here).
ESPEAK_VOICES = (
    "en-us", "en-us+f1", "en-us+f2", "en-us+f3", "en-us+f4", "en-us+m1", "en-us+m3",
    "en-us+m5", "en-gb", "en-gb+f3", "en-gb-x-rp", "en-gb-scotland", "en-029",
)  # fmt: skip
_TTS_SENTENCES = 30

# Random streams: one per purpose, so that adding a condition changes nothing else.
_TALKERS, _COMPOSE, _CHANNEL, _CROWD, _TTS_DRAW, _TTS_TALKERS, _TTS_COMPOSE = range(7)


@dataclass(frozen=True)
class SetOptions:
    out: Path
    seed: int = 0
    per_condition: int = 20
    conditions: tuple[str, ...] = CONDITIONS
    librispeech: Path = DEFAULT_LIBRISPEECH
    guard_dir: Path = DEFAULT_GUARD_DIR
    params: ComposeParams = field(default_factory=ComposeParams)
    # Recordings shorter than this are the babble crowd, the others talk.
    min_talker_s: float = MIN_TALKER_RECORDING_S
    # The tts condition's synthetic voice: espeak-ng (None) or a Piper voice
    piper: PiperVoice | None = None


def _quiet(_: str) -> None:
    pass


class _Deck:
    """Draws without replacement, reshuffled once used up; no repeat within one draw."""

    def __init__(self, items: Sequence[Path], rng: np.random.Generator) -> None:
        self._items, self._rng, self._queue = list(items), rng, list[Path]()

    @property
    def items(self) -> list[Path]:
        return self._items

    def draw(self, count: int) -> list[Path]:
        drawn: list[Path] = []
        while len(drawn) < count:
            if not self._queue:
                self._queue = [self._items[i] for i in self._rng.permutation(len(self._items))]
            item = self._queue.pop()
            if item not in drawn:
                drawn.append(item)
        return drawn


def reader_label(path: Path) -> str:
    """``ls<reader>`` for a LibriSpeech file ``<reader>-<chapter>-<utterance>.flac``."""
    return "ls" + path.name.split("-", 1)[0]


def reader_sexes(root: Path) -> dict[str, str]:
    """Reader id -> F/M from LibriSpeech's SPEAKERS.TXT (empty without it)."""
    table = root / "SPEAKERS.TXT"
    if not table.is_file():
        return {}
    fields = (line.split("|") for line in table.read_text().splitlines() if "|" in line)
    return {f[0].strip(): f[1].strip() for f in fields if not f[0].startswith(";")}


class SetBuilder:
    def __init__(self, options: SetOptions, log: Callable[[str], None] = _quiet) -> None:
        unknown = set(options.conditions) - set(CONDITIONS)
        if unknown:
            raise ValueError(f"unknown conditions {sorted(unknown)}; known: {CONDITIONS}")
        files = sorted(options.librispeech.glob("*.flac"))
        if not files:
            raise FileNotFoundError(f"no LibriSpeech FLAC files in {options.librispeech}")
        self.options, self.log = options, log
        lengths = {f: duration_s(f) for f in files}
        self.talkers = [f for f in files if lengths[f] >= options.min_talker_s]
        self.crowd = [f for f in files if lengths[f] < options.min_talker_s]
        self.loader = VoiceLoader(HoldoutGuard(options.guard_dir), SpeechDetector())
        self._voices: dict[Path, Voice | None] = {}
        self.roles: dict[Path, Counter[str]] = {}

    def voice(self, path: Path, role: str) -> Voice | None:
        if path not in self._voices:
            self._voices[path] = self.loader.recording(path, reader_label(path))
        if self._voices[path] is not None:
            self.roles.setdefault(path, Counter())[role] += 1
        return self._voices[path]

    def voices(self, deck: _Deck, count: int, role: str) -> list[Voice]:
        """``count`` guarded voices from ``deck`` (a dropped one is replaced by the next)."""
        voices: list[Voice] = []
        tried: set[Path] = set()
        while len(voices) < count:
            if tried >= set(deck.items):
                raise ValueError(
                    f"only {len(voices)} usable recordings for the {role} role, {count} needed: "
                    "give more LibriSpeech readers (or change --min-talker-s)"
                )
            for path in deck.draw(min(count - len(voices), len(deck.items))):
                tried.add(path)
                voice = self.voice(path, role)
                if voice is not None and voice.label not in {v.label for v in voices}:
                    voices.append(voice)
        return voices

    def rng(self, *stream: int) -> np.random.Generator:
        return np.random.default_rng([self.options.seed, *stream])

    def build(self) -> dict[str, Any]:
        options = self.options
        written: dict[str, list[dict[str, str]]] = {}
        mixed = [c for c in _MIXED_CONDITIONS if c in options.conditions]
        if mixed:
            written |= self._mixed(mixed)
        skipped = {}
        if "tts" in options.conditions:
            if options.piper is not None:
                options.piper.check()
                written["tts"] = self._tts()
            elif espeak_available():
                written["tts"] = self._tts()
            else:
                skipped["tts"] = "espeak-ng not found (apt-get install espeak-ng)"
                self.log("tts skipped: espeak-ng not found")
        for condition, rows in written.items():
            _write_csv(options.out / condition / "manifest.csv", rows)
        self._write_speakers()
        summary = self._summary(written, skipped)
        (options.out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
        return summary

    def _mixed(self, conditions: list[str]) -> dict[str, list[dict[str, str]]]:
        options, params = self.options, self.options.params
        deck, crowd = _Deck(self.talkers, self.rng(_TALKERS)), _Deck(self.crowd, self.rng(_CROWD))
        count_rng = self.rng(_TALKERS, 1)
        rows: dict[str, list[dict[str, str]]] = {c: [] for c in conditions}
        for index in range(options.per_condition):
            count = int(count_rng.integers(params.speakers[0], params.speakers[1] + 1))
            voices = self.voices(deck, count, "conversation")
            conversation = compose(
                f"conv{index:03d}", voices, [options.seed, _COMPOSE, index], params
            )
            mix = conversation.render()
            for condition in conditions:
                rng = self.rng(_CHANNEL, index, CONDITIONS.index(condition))
                audio, rate, channel = mix, TARGET_SAMPLE_RATE, "clean 16 kHz"
                if condition == "phone":
                    audio, channel = phone_call(mix, rng)
                    rate = PHONE_SAMPLE_RATE
                elif condition == "babble":
                    talkers = self.voices(crowd, BABBLE_TALKERS, "babble")
                    audio = babble(mix, talkers, rng)
                    channel = f"babble {BABBLE_SNR_DB:g} dB: " + " ".join(v.label for v in talkers)
                rows[condition].append(self._write(condition, conversation, audio, rate, channel))
            self.log(
                f"{conversation.conv_id}: {count} speakers, {conversation.duration_s:.0f} s, "
                f"overlap {100 * conversation.overlap_share:.1f}%"
            )
        return rows

    def _tts(self) -> list[dict[str, str]]:
        options = self.options
        params = ComposeParams(**{**asdict(options.params), "speakers": (2, 2)})
        deck, draw = _Deck(self.talkers, self.rng(_TTS_TALKERS)), self.rng(_TTS_DRAW)
        rows, labels = [], []
        for index in range(options.per_condition):
            human = self.voices(deck, 1, "tts conversation")[0]
            texts = [s.text for s in make_sentences(_TTS_SENTENCES, 1000 * options.seed + index)]
            if options.piper is None:
                espeak_voice = ESPEAK_VOICES[int(draw.integers(len(ESPEAK_VOICES)))]
                speed, pitch = int(draw.integers(150, 191)), int(draw.integers(30, 71))
                label = f"tts-{espeak_voice}"
                synthetic = self.loader.espeak(label, espeak_voice, texts, speed, pitch)
            else:
                length, noise = float(draw.uniform(0.85, 1.2)), float(draw.uniform(0.4, 0.8))
                label = f"tts-piper-{options.piper.model.stem}"
                synthetic = self.loader.piper(label, options.piper, texts, length, noise)
            conv_id = f"tts{index:03d}"
            conversation = compose(
                conv_id, [human, synthetic], [options.seed, _TTS_COMPOSE, index], params
            )
            mix = conversation.render()
            rows.append(self._write("tts", conversation, mix, TARGET_SAMPLE_RATE, "clean 16 kHz"))
            for voice in (human, synthetic):
                labels.append(
                    {
                        "uri": conv_id,
                        "speaker": voice.label,
                        "synthetic": str(int(voice.synthetic)),
                        "source": voice.source,
                    }
                )
            self.log(f"{conv_id}: {human.label} and {synthetic.source}")
        _write_csv(options.out / "tts" / "labels.csv", labels)
        return rows

    def _write(
        self, condition: str, conversation: Conversation, audio: FloatArray, rate: int, channel: str
    ) -> dict[str, str]:
        folder = self.options.out / condition
        conv_id = conversation.conv_id
        write_wav(folder / f"{conv_id}.wav", audio, rate)
        (folder / f"{conv_id}.rttm").write_text(to_rttm(conversation.diarization, conv_id))
        speech, overlapped = conversation.speech_s, conversation.overlap_share
        return {
            "audio": f"{conv_id}.wav",
            "rttm": f"{conv_id}.rttm",
            "speakers": str(len(conversation.voices)),
            "duration_s": f"{conversation.duration_s:.3f}",
            "speech_s": f"{speech:.3f}",
            "overlap_share": f"{overlapped:.4f}",
            "channel": channel,
            "labels": " ".join(
                f"{v.label}:{conversation.gains_db[v.label]:+.1f}dB" for v in conversation.voices
            ),
        }

    def _write_speakers(self) -> None:
        sexes = reader_sexes(self.options.librispeech)
        rows = [
            {
                "speaker": reader_label(path),
                "file": path.name,
                "sex": sexes.get(path.name.split("-", 1)[0], ""),
                "role": " ".join(f"{role}:{n}" for role, n in sorted(roles.items())),
            }
            for path, roles in sorted(self.roles.items())
        ]
        _write_csv(self.options.out / "speakers.csv", rows)

    def _summary(
        self, written: dict[str, list[dict[str, str]]], skipped: dict[str, str]
    ) -> dict[str, Any]:
        per_condition = {}
        for condition, rows in written.items():
            speech = sum(float(r["speech_s"]) for r in rows)
            overlapped = sum(float(r["speech_s"]) * float(r["overlap_share"]) for r in rows)
            shares = [float(r["overlap_share"]) for r in rows]
            speakers = {s.split(":")[0] for r in rows for s in r["labels"].split()}
            per_condition[condition] = {
                "conversations": len(rows),
                "speakers": len(speakers),
                "speakers_per_conversation": dict(
                    sorted(Counter(r["speakers"] for r in rows).items())
                ),
                "minutes": round(sum(float(r["duration_s"]) for r in rows) / 60, 2),
                "speech_minutes": round(speech / 60, 2),
                "overlap_share": round(overlapped / speech, 4) if speech else 0.0,
                "overlap_share_range": [round(min(shares), 4), round(max(shares), 4)],
                "channels": dict(sorted(Counter(r["channel"].split(":")[0] for r in rows).items())),
            }
        roles = {
            role: sorted(reader_label(p) for p, r in self.roles.items() if role in r)
            for role in ("conversation", "tts conversation", "babble")
        }
        return {
            "seed": self.options.seed,
            "per_condition": self.options.per_condition,
            "params": asdict(self.options.params),
            "conditions": per_condition,
            "skipped": skipped,
            "librispeech_speakers": {role: names for role, names in roles.items() if names},
            "guard": {"clips_checked": self.loader.checked, "dropped": self.loader.dropped},
            "unusable": self.loader.unusable,
        }


def _write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        columns = list(rows[0]) if rows else ["audio", "rttm"]
        writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def build_set(options: SetOptions, log: Callable[[str], None] = _quiet) -> dict[str, Any]:
    """Writes the set under ``options.out`` and returns its summary."""
    return SetBuilder(options, log).build()
