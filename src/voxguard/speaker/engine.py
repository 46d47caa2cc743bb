"""``SpeakerEngine``: the one facade the service and the CLI use for speaker work.

embed (analysed audio -> embedding) -> enroll (embeddings -> voiceprint) -> verify (1:1) or
identify (1:N). Models load once per engine; an engine is safe to share between threads.
"""

from __future__ import annotations

from collections.abc import Mapping

from voxguard.audio.analysis import AnalyzedAudio, AudioFrontEnd
from voxguard.audio.types import AudioSource
from voxguard.config import Settings, get_settings
from voxguard.errors import AudioTooShort, ModelMismatch, NoSpeechDetected
from voxguard.speaker.augment import phone_channel
from voxguard.speaker.backend import SpeakerBackend, load_backend
from voxguard.speaker.encoder import Ge2eEncoder
from voxguard.speaker.enrollment import enroll, voiceprint_variant
from voxguard.speaker.gallery import SpeakerGallery
from voxguard.speaker.scoring import cosine
from voxguard.speaker.types import (
    Candidate,
    Embedding,
    IdentificationResult,
    VerificationResult,
    Voiceprint,
)

SAMPLE_RATE = 16_000


class SpeakerEngine:
    def __init__(
        self,
        settings: Settings | None = None,
        encoder: Ge2eEncoder | None = None,
        backend: SpeakerBackend | None = None,
        front_end: AudioFrontEnd | None = None,
    ) -> None:
        self.settings = settings or get_settings()
        self.encoder = encoder or Ge2eEncoder(threads=self.settings.inference_threads)
        self.backend = backend or load_backend(model_version=self.encoder.model_version)
        self._front_end = front_end

    @property
    def model_version(self) -> str:
        return self.encoder.model_version

    @property
    def front_end(self) -> AudioFrontEnd:
        if self._front_end is None:
            self._front_end = AudioFrontEnd(self.settings)
        return self._front_end

    # --- embedding ------------------------------------------------------------------------

    def embed(
        self, analyzed: AnalyzedAudio, variants: bool = False, strict: bool = True
    ) -> Embedding:
        """Embedding of the speech in ``analyzed``.

        With ``variants`` (for enrollment) the same speech is also embedded through a
        simulated phone channel so the voiceprint can meet phone-call tests on their terms.
        ``strict=False`` (evaluation protocols only) embeds the whole clip when the VAD keeps
        less than ``min_embed_speech_s`` instead of refusing: a trial list must be scored.
        """
        speech = analyzed.speech
        speech_s = speech.size / SAMPLE_RATE
        if speech_s < self.settings.min_embed_speech_s:
            if strict and not analyzed.segments:
                raise NoSpeechDetected("No speech was detected in the recording.")
            if strict:
                raise AudioTooShort(
                    f"The recording holds {speech_s:.2f} s of speech; at least "
                    f"{self.settings.min_embed_speech_s:.2f} s is needed.",
                    speech_s=speech_s,
                )
            speech = analyzed.clip.samples
            speech_s = speech.size / SAMPLE_RATE
        extra = {"phone": self.encoder.embed(phone_channel(speech))} if variants else {}
        return Embedding(
            vector=self.encoder.embed(speech),
            speech_s=round(speech_s, 3),
            model_version=self.model_version,
            quality=analyzed.quality.score(),
            condition=self.backend.condition_of(analyzed.quality.bandwidth_hz),
            variants=extra,
        )

    def embed_source(
        self, source: AudioSource, variants: bool = False, strict: bool = True
    ) -> Embedding:
        """Decode, find speech and embed in one call."""
        return self.embed(self.front_end.analyze(source), variants=variants, strict=strict)

    # --- enrollment and verification ------------------------------------------------------

    def enroll(self, embeddings: list[Embedding], existing: Voiceprint | None = None) -> Voiceprint:
        return enroll(embeddings, existing)

    def _check_version(self, version: str) -> None:
        if version != self.model_version:
            raise ModelMismatch(
                f"Data made by {version} cannot be scored with {self.model_version}; "
                "re-enroll the speaker."
            )

    def threshold(self, condition: str) -> float:
        return self.backend.calibration(condition).threshold_for_far(self.settings.target_far)

    def verify(self, voiceprint: Voiceprint, embedding: Embedding) -> VerificationResult:
        self._check_version(voiceprint.model_version)
        self._check_version(embedding.model_version)
        condition = embedding.condition
        enrolled = self.backend.project(voiceprint_variant(voiceprint, condition))
        test = self.backend.project(embedding.vector)
        raw = cosine(enrolled, test)
        normalized = self.backend.cohort(condition).normalize(raw, enrolled, test)
        calibration = self.backend.calibration(condition)
        llr = calibration.llr(normalized)
        threshold = self.threshold(condition)
        return VerificationResult(
            score=round(raw, 6),
            normalized_score=round(normalized, 6),
            llr=round(llr, 6),
            probability=round(calibration.probability(llr), 6),
            accepted=bool(normalized >= threshold),
            threshold=round(threshold, 6),
        )

    # --- identification -------------------------------------------------------------------

    def gallery(self, voiceprints: Mapping[str, Voiceprint]) -> SpeakerGallery:
        """A searchable gallery; build it once and reuse it for many identifications."""
        for voiceprint in voiceprints.values():
            self._check_version(voiceprint.model_version)
        return SpeakerGallery(voiceprints, self.backend)

    def identify(
        self,
        embedding: Embedding,
        gallery: Mapping[str, Voiceprint] | SpeakerGallery,
        top_k: int | None = None,
    ) -> IdentificationResult:
        """Top-k enrolled speakers; ``best`` is None ("unknown") when none passes the
        verification threshold."""
        self._check_version(embedding.model_version)
        if not isinstance(gallery, SpeakerGallery):
            gallery = self.gallery(gallery)
        top_k = top_k or self.settings.identify_top_k
        condition = embedding.condition
        calibration = self.backend.calibration(condition)
        ranked = gallery.rank(embedding.vector, condition, top_k)
        candidates = []
        for speaker_id, raw, normalized in ranked:
            llr = calibration.llr(normalized)
            candidates.append(
                Candidate(
                    speaker_id=speaker_id,
                    score=round(raw, 6),
                    normalized_score=round(normalized, 6),
                    probability=round(calibration.probability(llr), 6),
                )
            )
        threshold = self.threshold(condition)
        best = candidates[0] if candidates and candidates[0].normalized_score >= threshold else None
        return IdentificationResult(best=best, candidates=candidates)
