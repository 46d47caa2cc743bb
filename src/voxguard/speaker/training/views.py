"""Development views of the LibriSpeech utterances in ``../shared/data/librispeech``.

Each reader has one utterance. Its first half is the enrollment and its second half the test,
so the two never overlap. The test half is then shown in the four evaluation conditions:
clean, cut to 2 s, through a phone channel, mixed with babble of three other readers at
5 dB SNR. Everything is seeded: the same seed gives the same views.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
from scipy import signal

from voxguard.audio.analysis import AudioFrontEnd
from voxguard.audio.decode import load_audio
from voxguard.audio.types import PHONE_BAND_HZ, AudioClip, AudioMetadata, FloatArray
from voxguard.speaker.augment import add_noise, band_pass, phone_channel
from voxguard.speaker.encoder import Ge2eEncoder
from voxguard.speaker.types import SpeakerEncoder

SAMPLE_RATE = 16_000
MIN_TRIAL_SECONDS = 6.0
CUT_SECONDS = 2.0
BABBLE_TALKERS = 3
BABBLE_SNR_DB = 5.0
SHORT_SECONDS = (0.4, 1.2)
# Extra babble copies of each reader's test half, (SNR dB, talkers), for the noisy path's
# multi-condition WCCN (docs/speaker-experiments/2026-12-05-babble-unseen.md).
EXTRA_BABBLE = ((0.0, 3), (10.0, 3), (5.0, 2), (5.0, 5))
EXTRA_BABBLE_VIEWS = tuple(f"fit_babble_{int(snr)}_{n}" for snr, n in EXTRA_BABBLE)


def load_readers(root: Path) -> dict[str, FloatArray]:
    """speaker id -> 16 kHz samples of its one utterance."""
    return {
        path.name.split("-")[0]: load_audio(path).samples for path in sorted(root.glob("*.flac"))
    }


def split_halves(samples: FloatArray) -> tuple[FloatArray, FloatArray]:
    half = samples.size // 2
    return samples[:half], samples[half:]


def babble(length: int, talkers: Sequence[FloatArray], rng: np.random.Generator) -> FloatArray:
    """Sum of ``talkers`` at equal level, each looped and started at a random offset."""
    mix = np.zeros(length, dtype=np.float64)
    for talker in talkers:
        looped = np.tile(talker, int(np.ceil((length + talker.size) / talker.size)))
        start = int(rng.integers(0, talker.size))
        piece = looped[start : start + length].astype(np.float64)
        mix += piece / (np.sqrt(np.mean(piece**2)) + 1e-9)
    return mix.astype(np.float32)


def babble_mix(
    speech: FloatArray,
    readers: dict[str, FloatArray],
    pool: Sequence[str],
    talkers: int,
    snr_db: float,
    rng: np.random.Generator,
) -> FloatArray:
    """``speech`` plus babble of ``talkers`` readers drawn from ``pool`` at ``snr_db``."""
    chosen = rng.choice(list(pool), size=talkers, replace=False)
    return add_noise(speech, babble(speech.size, [readers[s] for s in chosen], rng), snr_db)


@dataclass(frozen=True)
class TrialViews:
    clean: FloatArray
    cut2: FloatArray
    phone: FloatArray
    babble: FloatArray

    def items(self) -> Iterator[tuple[str, FloatArray]]:
        yield from (
            ("clean", self.clean),
            ("cut2", self.cut2),
            ("phone", self.phone),
            ("babble", self.babble),
        )


def make_trial_views(
    speaker: str,
    readers: dict[str, FloatArray],
    babble_pool: Sequence[str],
    seed: int,
    phone: Callable[[FloatArray], FloatArray] = phone_channel,
) -> TrialViews:
    rng = np.random.default_rng([seed, int(speaker)])
    _, test = split_halves(readers[speaker])
    cut = int(CUT_SECONDS * SAMPLE_RATE)
    start = int(rng.integers(0, max(test.size - cut, 0) + 1))
    others = [s for s in babble_pool if s != speaker]
    chosen = rng.choice(others, size=BABBLE_TALKERS, replace=False)
    noise = babble(test.size, [readers[s] for s in chosen], rng)
    return TrialViews(
        clean=test,
        cut2=test[start : start + cut],
        phone=phone(test),
        babble=add_noise(test, noise, BABBLE_SNR_DB),
    )


def gsm_channel(samples: FloatArray) -> FloatArray:
    """Band-pass, 8 kHz, GSM 06.10 full rate (sox/libgsm), back to 16 kHz."""
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "in.raw"
        pcm = np.clip(band_pass(samples, *PHONE_BAND_HZ) * 32767, -32768, 32767).astype("<i2")
        raw.write_bytes(pcm.tobytes())
        gsm, out = Path(tmp) / "phone.gsm", Path(tmp) / "out.wav"
        common = ["-t", "raw", "-r", "16000", "-e", "signed", "-b", "16", "-c", "1"]
        subprocess.run(["sox", *common, str(raw), "-r", "8000", str(gsm)], check=True)
        subprocess.run(["sox", str(gsm), "-e", "signed", "-b", "16", str(out)], check=True)
        with av.open(str(out)) as container:
            frames = [f.to_ndarray().reshape(-1) for f in container.decode(audio=0)]
    coded = np.concatenate(frames).astype(np.float32) / 32768.0
    wide: FloatArray = signal.resample_poly(coded, 2, 1).astype(np.float32)
    return np.pad(wide, (0, max(0, samples.size - wide.size)))[: samples.size]


def test_phone_channel() -> tuple[Callable[[FloatArray], FloatArray], str]:
    """The phone channel for test views: GSM 06.10 when sox is installed, else AMR-NB."""
    if shutil.which("sox"):
        return gsm_channel, "GSM 06.10 full rate (sox)"
    return phone_channel, "AMR-NB 12.2 kbit/s (PyAV)"


class SpeechEmbedder:
    """VAD speech only (the whole signal when VAD keeps under 0.5 s), then the encoder (GE2E
    unless another is given)."""

    def __init__(
        self, encoder: SpeakerEncoder | None = None, front_end: AudioFrontEnd | None = None
    ):
        self.encoder: SpeakerEncoder = encoder or Ge2eEncoder()
        self.front_end = front_end or AudioFrontEnd()

    def speech(self, samples: FloatArray) -> FloatArray:
        meta = AudioMetadata("array", "pcm", SAMPLE_RATE, 1, samples.size / SAMPLE_RATE, 0)
        analyzed = self.front_end.analyze_clip(AudioClip(samples, SAMPLE_RATE, meta))
        speech = analyzed.speech
        return speech if speech.size >= SAMPLE_RATE // 2 else samples

    def __call__(self, samples: FloatArray) -> FloatArray:
        return self.encoder.embed(self.speech(samples))


def short_piece(speech: FloatArray, rng: np.random.Generator) -> FloatArray:
    """A random 0.4-1.2 s stretch of speech: the short-test regime (digits, one word)."""
    length = min(int(rng.uniform(*SHORT_SECONDS) * SAMPLE_RATE), speech.size)
    start = int(rng.integers(0, speech.size - length + 1))
    return speech[start : start + length]


def embed_views(
    speaker: str,
    readers: dict[str, FloatArray],
    views: TrialViews,
    embedder: SpeechEmbedder,
    seed: int,
    phone: Callable[[FloatArray], FloatArray] = phone_channel,
    babble_pool: Sequence[str] = (),
) -> dict[str, FloatArray]:
    """Every view the back-end recipe needs, as raw embeddings of the embedder's encoder.

    With ``babble_pool``, also the ``EXTRA_BABBLE_VIEWS`` of the test half (talkers drawn from
    the pool, never the speaker) for the noisy path's WCCN, and ``enroll_babble``, the
    enrollment half with babble of ``BABBLE_TALKERS`` at ``BABBLE_SNR_DB``, for the calibration
    of the ``noisy_enrolled`` path (voiceprints enrolled in noise).
    """
    rng = np.random.default_rng([seed, int(speaker), 1])
    encode = embedder.encoder.embed
    enroll_half, test_half = split_halves(readers[speaker])
    full = embedder.speech(readers[speaker])
    enroll = embedder.speech(enroll_half)
    enroll_short = short_piece(enroll, rng)
    test_short = short_piece(embedder.speech(test_half), rng)
    out = {
        "full": encode(full),
        "full_phone": encode(phone_channel(full)),
        "enroll": encode(enroll),
        "enroll_phone": encode(phone_channel(enroll)),
        "enroll_short": encode(enroll_short),
        "enroll_short_phone": encode(phone_channel(enroll_short)),
        "test_short": encode(test_short),
        "test_short_phone": encode(phone(test_short)),
    }
    for name, samples in views.items():
        out[f"test_{name}"] = embedder(samples)
    others = [s for s in babble_pool if s != speaker]
    if others:
        babble_rng = np.random.default_rng([seed, int(speaker), 2])
        for (snr, talkers), name in zip(EXTRA_BABBLE, EXTRA_BABBLE_VIEWS, strict=True):
            mixed = babble_mix(test_half, readers, others, talkers, snr, babble_rng)
            out[name] = embedder(mixed)
        enroll_rng = np.random.default_rng([seed, int(speaker), 3])
        out["enroll_babble"] = embedder(
            babble_mix(enroll_half, readers, others, BABBLE_TALKERS, BABBLE_SNR_DB, enroll_rng)
        )
    return out
