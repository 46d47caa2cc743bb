"""A deterministic stand-in for the speaker engine, for tests of the service plumbing only.

It is not shipped and makes no accuracy claim: its "embedding" is the normalised long-term
log spectrum of the speech, good enough to tell the test recordings apart. End-to-end tests
use the real engine and skip when it is absent.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import SimpleNamespace

import numpy as np

from voxguard.audio.analysis import AnalyzedAudio
from voxguard.audio.types import AudioClip, Channel
from voxguard.audio.vad import VadFrames
from voxguard.errors import AudioTooShort
from voxguard.speaker.types import (
    Candidate,
    Embedding,
    IdentificationResult,
    VerificationResult,
    Voiceprint,
)

THRESHOLD = 0.9


class SpectralTestEngine:
    model_version = "test-spectral-1"

    def embed(self, analyzed: AnalyzedAudio, variants: bool = False) -> Embedding:
        speech = analyzed.speech
        if speech.size < 8000:
            raise AudioTooShort("too little speech to embed (test engine)")
        frames = speech[: speech.size // 512 * 512].reshape(-1, 512)
        spectrum = np.log(np.mean(np.abs(np.fft.rfft(frames, axis=1)) ** 2, axis=0) + 1e-8)
        bands = np.array([b.mean() for b in np.array_split(spectrum[:240], 48)])
        vector = (bands - bands.mean()).astype(np.float32)
        vector /= np.linalg.norm(vector) + 1e-9
        return Embedding(vector, speech.size / 16000, self.model_version)

    def enroll(self, embeddings: list[Embedding], existing: Voiceprint | None = None) -> Voiceprint:
        vectors = [e.vector for e in embeddings]
        count = len(vectors)
        speech = sum(e.speech_s for e in embeddings)
        if existing is not None:
            vectors.append(existing.vector * existing.n_samples)
            count += existing.n_samples
            speech += existing.speech_s
        mean = np.sum(vectors, axis=0)
        mean /= np.linalg.norm(mean) + 1e-9
        return Voiceprint(mean.astype(np.float32), count, speech, 1.0, self.model_version)

    def verify(self, voiceprint: Voiceprint, embedding: Embedding) -> VerificationResult:
        score = float(voiceprint.vector @ embedding.vector)
        probability = float(1 / (1 + np.exp(-40 * (score - THRESHOLD))))
        return VerificationResult(
            score,
            score,
            float(np.log(probability / (1 - probability + 1e-12) + 1e-12)),
            probability,
            score >= THRESHOLD,
            THRESHOLD,
        )

    def identify(
        self, embedding: Embedding, gallery: Mapping[str, Voiceprint], top_k: int
    ) -> IdentificationResult:
        scored = []
        for speaker_id, voiceprint in gallery.items():
            result = self.verify(voiceprint, embedding)
            scored.append(Candidate(speaker_id, result.score, result.score, result.probability))
        scored.sort(key=lambda c: c.score, reverse=True)
        top = scored[:top_k]
        best = top[0] if top and top[0].score >= THRESHOLD else None
        return IdentificationResult(best, top)


class UpgradedSpectralEngine(SpectralTestEngine):
    """The test engine after a speaker model change: another version, and an embedding
    space of its own (the spectral vector reversed), so that voiceprints of the old one
    mean nothing to it."""

    model_version = "test-spectral-2"

    def embed(self, analyzed: AnalyzedAudio, variants: bool = False) -> Embedding:
        old = super().embed(analyzed, variants)
        return Embedding(old.vector[::-1].copy(), old.speech_s, self.model_version)


class FixedSpoofDetector:
    """Stands in for ``voxguard.spoof.detector.SpoofDetector``: one fixed probability."""

    def __init__(
        self,
        probability: float,
        threshold: float = 0.5,
        channel: Channel = "wideband",
        short_speech: bool = False,
        classical_tts_probability: float | None = None,
    ) -> None:
        self.probability = probability
        self.classical_tts_probability = classical_tts_probability
        self.threshold = threshold
        self.channel = channel
        self.short_speech = short_speech
        self.model_version = "test-fixed-spoof"

    def detect_clip(self, clip: AudioClip, vad_frames: VadFrames | None = None) -> SimpleNamespace:
        window = SimpleNamespace(start_s=0.0, end_s=4.0, logit=0.0, probability=self.probability)
        return SimpleNamespace(
            probability=self.probability,
            is_spoof=self.probability >= self.threshold,
            threshold=self.threshold,
            windows=[window],
            channel=self.channel,
            short_speech=self.short_speech,
            classical_tts_probability=self.classical_tts_probability,
        )
