"""Classical TTS engines driven through their command-line tools (installed from Debian)."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import numpy as np

from voxguard.audio.types import FloatArray
from voxguard.training.generators.base import (
    Job,
    PlanContext,
    missing_commands,
    pick_sentences,
)
from voxguard.training.signal import read_wav

_TIMEOUT_S = 120


def _run_to_wav(command: list[str], stdin: str | None = None) -> tuple[FloatArray, int]:
    """Run an engine that writes ``{out}`` (a placeholder in ``command``) and read it back."""
    with tempfile.TemporaryDirectory(prefix="voxguard-tts-") as tmp:
        out = Path(tmp) / "out.wav"
        args = [a.replace("{out}", str(out)).replace("{tmp}", tmp) for a in command]
        subprocess.run(
            args, input=stdin, text=True, check=True, capture_output=True, timeout=_TIMEOUT_S
        )
        return read_wav(out)


class _CommandLineTts:
    """Shared planning: a voice, a rate and a pitch per clip; ``voice`` names all three."""

    name = ""
    family = "classical_tts"
    license = ""
    default_count = 150
    commands: tuple[str, ...] = ()
    voices: tuple[str, ...] = ()
    rate_range: tuple[float, float] = (0.85, 1.2)
    pitch_range: tuple[float, float] = (0.85, 1.2)

    def unavailable_reason(self) -> str | None:
        return missing_commands(*self.commands)

    def plan(self, count: int, rng: np.random.Generator, context: PlanContext) -> list[Job]:
        jobs = []
        for index in range(count):
            voice = self.voices[index % len(self.voices)]
            text_id, text = pick_sentences(rng, context.sentences)
            rate = round(float(rng.uniform(*self.rate_range)), 2)
            pitch = round(float(rng.uniform(*self.pitch_range)), 2)
            jobs.append(
                Job(
                    index=index,
                    voice=f"{voice}@r{rate}-p{pitch}",
                    speaker=f"{self.name}:{voice}",
                    text_id=text_id,
                    text=text,
                    params={"rate": rate, "pitch": pitch},
                )
            )
        return jobs

    @staticmethod
    def base_voice(job: Job) -> str:
        return job.voice.split("@", 1)[0]


# US English with every variant, plus the other English accents with a few.
_ESPEAK_LANGUAGES = ("en-gb", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-gb-x-gbclan")
_ESPEAK_VARIANTS = (
    "", "+f1", "+f2", "+f3", "+f4", "+f5", "+m1", "+m2", "+m3", "+m4", "+m5", "+m6", "+m7",
    "+klatt", "+klatt2", "+klatt3", "+klatt4", "+klatt6", "+croak", "+whisperf", "+Andy",
    "+Annie", "+anika", "+Demonic", "+edward", "+iven3", "+john", "+Lee", "+max", "+michel",
    "+norbert", "+robert", "+steph", "+travis", "+victor", "+aunty", "+boris", "+david",
)  # fmt: skip
_ESPEAK_VOICES = tuple(f"en-us{v}" for v in _ESPEAK_VARIANTS) + tuple(
    f"{lang}{v}" for lang in _ESPEAK_LANGUAGES for v in ("", "+f3", "+m3", "+klatt")
)


class EspeakNg(_CommandLineTts):
    name = "espeak-ng"
    license = "GPL-3.0-or-later"
    default_count = 300
    commands = ("espeak-ng",)
    rate_range = (0.75, 1.35)
    pitch_range = (0.5, 1.6)
    voices = _ESPEAK_VOICES

    def synthesize(self, job: Job) -> tuple[FloatArray, int]:
        rate = int(175 * job.params["rate"])
        pitch = int(min(99, 50 * job.params["pitch"]))
        voice = self.base_voice(job)
        return _run_to_wav(
            ["espeak-ng", "-v", voice, "-s", str(rate), "-p", str(pitch), "-w", "{out}", job.text]
        )


class Flite(_CommandLineTts):
    name = "flite"
    license = "BSD-style (CMU Flite), voices CMU ARCTIC (BSD-style)"
    default_count = 200
    commands = ("flite",)
    voices = ("kal", "kal16", "awb", "rms", "slt")

    def synthesize(self, job: Job) -> tuple[FloatArray, int]:
        stretch = f"duration_stretch={1.0 / job.params['rate']:.2f}"
        voice = self.base_voice(job)
        return _run_to_wav(
            ["flite", "-voice", voice, "--setf", stretch, "-t", job.text, "-o", "{out}"]
        )


class Festival(_CommandLineTts):
    name = "festival"
    license = "BSD-style (Festival, festvox voices; HTS slt: EST-2003/BSD-3-Clause)"
    default_count = 150
    commands = ("text2wave",)
    voices = ("kal_diphone", "ked_diphone", "cmu_us_slt_arctic_hts")

    def synthesize(self, job: Job) -> tuple[FloatArray, int]:
        stretch = 1.0 / job.params["rate"]
        setup = f"(voice_{self.base_voice(job)}) (Parameter.set 'Duration_Stretch {stretch:.2f})"
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as handle:
            handle.write(job.text)
            text_path = handle.name
        try:
            return _run_to_wav(["text2wave", "-eval", setup, "-o", "{out}", text_path])
        finally:
            Path(text_path).unlink(missing_ok=True)


class Pico(_CommandLineTts):
    name = "pico"
    license = "Apache-2.0 (SVOX Pico engine and lingware)"
    default_count = 150
    commands = ("pico2wave",)
    voices = ("en-US", "en-GB")

    def synthesize(self, job: Job) -> tuple[FloatArray, int]:
        # pico2wave has no rate or pitch flags; its SSML-like markup does both.
        rate = int(100 * job.params["rate"])
        pitch = int(100 * job.params["pitch"])
        text = f"<speed level='{rate}'><pitch level='{pitch}'>{job.text}</pitch></speed>"
        return _run_to_wav(["pico2wave", "-l", self.base_voice(job), "-w", "{out}", text])


class RhVoice(_CommandLineTts):
    name = "rhvoice"
    # Only the LGPL voices built on CMU ARCTIC; evgeniy-eng and lyubov are CC-BY-NC-ND.
    license = "LGPL-2.1-or-later (RHVoice engine and the alan/bdl/clb/slt voices)"
    default_count = 150
    commands = ("RHVoice-test",)
    voices = ("alan", "bdl", "clb", "slt")

    def synthesize(self, job: Job) -> tuple[FloatArray, int]:
        rate = int(100 * job.params["rate"])
        pitch = int(100 * job.params["pitch"])
        voice = self.base_voice(job)
        return _run_to_wav(
            ["RHVoice-test", "-p", voice, "-r", str(rate), "-t", str(pitch), "-o", "{out}"],
            stdin=job.text,
        )
