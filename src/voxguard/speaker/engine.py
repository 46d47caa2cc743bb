"""``SpeakerEngine``: the one facade the service and the CLI use for speaker work.

embed (analysed audio -> embedding) -> enroll (embeddings -> voiceprint) -> verify (1:1) or
identify (1:N). Models load once per engine; an engine is safe to share between threads.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import NoReturn

from voxguard.audio.analysis import AnalyzedAudio, AudioFrontEnd
from voxguard.audio.quality import QualityReport
from voxguard.audio.types import AudioSource
from voxguard.config import Settings, get_settings
from voxguard.errors import AudioTooShort, ModelMismatch, NoSpeechDetected
from voxguard.models import bundled_model_path
from voxguard.speaker.augment import phone_channel
from voxguard.speaker.backend import SpeakerBackend, load_backend, score_pair, variant_for
from voxguard.speaker.campplus import CamppEncoder
from voxguard.speaker.encoder import Ge2eEncoder
from voxguard.speaker.enrollment import enroll, enrolled_in_noise, voiceprint_variant
from voxguard.speaker.frames import FrameAnalysis
from voxguard.speaker.gallery import GallerySnapshot, SpeakerGallery
from voxguard.speaker.index import INDEX_THRESHOLD
from voxguard.speaker.types import (
    Candidate,
    Embedding,
    IdentificationResult,
    Vector,
    VerificationResult,
    Voiceprint,
)

SAMPLE_RATE = 16_000
# Bundled speaker models (``Settings.speaker_model``): each a folder of ``models/`` holding the
# encoder and the back end fitted on it.
SPEAKER_MODELS = ("campplus", "ge2e")


def load_speaker_encoder(name: str, threads: int = 1) -> Ge2eEncoder | CamppEncoder:
    """The bundled encoder ``name`` (one of ``SPEAKER_MODELS``)."""
    if name == "campplus":
        return CamppEncoder(threads=threads)
    if name == "ge2e":
        return Ge2eEncoder(threads=threads)
    raise ValueError(f"speaker model {name!r} is not bundled; choose one of {SPEAKER_MODELS}.")


class SpeakerEngine:
    def __init__(
        self,
        settings: Settings | None = None,
        encoder: Ge2eEncoder | CamppEncoder | None = None,
        backend: SpeakerBackend | None = None,
        front_end: AudioFrontEnd | None = None,
    ) -> None:
        self.settings = settings or get_settings()
        self.encoder = encoder or load_speaker_encoder(
            self.settings.speaker_model, self.settings.inference_threads
        )
        self.backend = backend or load_backend(
            bundled_model_path(self.encoder.name), model_version=self.encoder.model_version
        )
        self._front_end = front_end

    @property
    def model_version(self) -> str:
        return self.encoder.model_version

    @property
    def embedding_size(self) -> int:
        return self.encoder.embedding_size

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
            if strict:
                self._refuse_too_little_speech(speech_s, bool(analyzed.segments))
            speech = analyzed.clip.samples
            speech_s = speech.size / SAMPLE_RATE
        vector = self.encoder.embed(speech)
        condition = self._condition(analyzed.quality)
        extra = {}
        if variants:
            # A narrowband recording already sounds like a phone call: simulating the channel
            # again would only add a second codec pass the test side never has.
            narrow = condition == "phone"
            extra["phone"] = vector if narrow else self.encoder.embed(phone_channel(speech))
        return self._embedding(vector, speech_s, analyzed.quality, condition, extra)

    def embed_frames(self, analysis: FrameAnalysis) -> Embedding:
        """Embedding of the speech frames of a privacy-mode payload (features, no audio).

        Enrollment needs audio (its phone-channel variant is simulated on samples), so there
        are no variants here.
        """
        speech_s = analysis.speech_s
        if speech_s < self.settings.min_embed_speech_s:
            self._refuse_too_little_speech(speech_s, bool(analysis.speech.any()))
        if isinstance(self.encoder, CamppEncoder):
            vector = self.encoder.embed_fbank(analysis.speech_fbank())
        else:
            vector = self.encoder.embed_mel(analysis.speech_mel(self.encoder.spec.norm_target_dbfs))
        condition = self._condition(analysis.quality)
        return self._embedding(vector, speech_s, analysis.quality, condition, {})

    def _refuse_too_little_speech(self, speech_s: float, any_speech: bool) -> NoReturn:
        if not any_speech:
            raise NoSpeechDetected("No speech was detected in the recording.")
        raise AudioTooShort(
            f"The recording holds {speech_s:.2f} s of speech; at least "
            f"{self.settings.min_embed_speech_s:.2f} s is needed.",
            speech_s=speech_s,
        )

    def _condition(self, quality: QualityReport) -> str:
        return self.backend.condition_of(quality.bandwidth_hz, quality.snr_db)

    def _embedding(
        self,
        vector: Vector,
        speech_s: float,
        quality: QualityReport,
        condition: str,
        variants: dict[str, Vector],
    ) -> Embedding:
        return Embedding(
            vector=vector,
            speech_s=round(speech_s, 3),
            model_version=self.model_version,
            quality=quality.score(),
            condition=condition,
            variants=variants,
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

    def threshold(self, path: str, comparisons: int = 1) -> float:
        """Normalised-score threshold of ``path`` at ``Settings.target_far`` (dev protocol).

        With ``comparisons`` > 1 (identification against a gallery) each comparison gets
        ``target_far / comparisons``, so the chance that an unknown speaker passes against
        anybody in the gallery stays near ``target_far``.
        """
        calibration = self.backend.path(path).calibration
        return calibration.threshold_for_far(self.settings.target_far / max(comparisons, 1))

    def verify(self, voiceprint: Voiceprint, embedding: Embedding) -> VerificationResult:
        self._check_version(voiceprint.model_version)
        self._check_version(embedding.model_version)
        name = self.backend.path_for(
            embedding.condition, embedding.speech_s, enrolled_in_noise(voiceprint)
        )
        path = self.backend.path(name)
        enrolled = voiceprint_variant(voiceprint, variant_for(name))
        raw, normalized = score_pair(path, enrolled, embedding.vector)
        llr = path.calibration.llr(normalized)
        threshold = self.threshold(name)
        return VerificationResult(
            score=round(raw, 6),
            normalized_score=round(normalized, 6),
            llr=round(llr, 6),
            probability=round(path.calibration.probability(llr), 6),
            accepted=bool(normalized >= threshold),
            threshold=round(threshold, 6),
        )

    # --- identification -------------------------------------------------------------------

    def gallery(
        self, voiceprints: Mapping[str, Voiceprint], index_threshold: int = INDEX_THRESHOLD
    ) -> SpeakerGallery:
        """A searchable gallery; build it once and reuse it for many identifications."""
        return self.build_gallery([voiceprints], index_threshold)

    def build_gallery(
        self, batches: Iterable[Mapping[str, Voiceprint]], index_threshold: int = INDEX_THRESHOLD
    ) -> SpeakerGallery:
        """``gallery`` from voiceprints that arrive in batches (a store streaming them);
        the gallery is kept current with ``upsert`` and ``remove`` afterwards."""
        return SpeakerGallery.build(self._checked(batches), self.backend, index_threshold)

    def restore_gallery(
        self, snapshot: GallerySnapshot, index_threshold: int = INDEX_THRESHOLD
    ) -> SpeakerGallery:
        """A gallery saved with ``SpeakerGallery.snapshot``; ``ModelMismatch`` when it was
        made by another model or back end."""
        return SpeakerGallery.from_snapshot(snapshot, self.backend, index_threshold)

    def _checked(
        self, batches: Iterable[Mapping[str, Voiceprint]]
    ) -> Iterator[Mapping[str, Voiceprint]]:
        for batch in batches:
            for voiceprint in batch.values():
                self._check_version(voiceprint.model_version)
            yield batch

    def identify(
        self,
        embedding: Embedding,
        gallery: Mapping[str, Voiceprint] | SpeakerGallery,
        top_k: int | None = None,
    ) -> IdentificationResult:
        """Top-k enrolled speakers; ``best`` is None ("unknown") when the best one does not pass
        the open-set threshold (the verification threshold at target_far / gallery size)."""
        self._check_version(embedding.model_version)
        if not isinstance(gallery, SpeakerGallery):
            gallery = self.gallery(gallery)
        top_k = top_k or self.settings.identify_top_k
        name = self.backend.path_for(embedding.condition, embedding.speech_s)
        noisy_name = self.backend.path_for(embedding.condition, embedding.speech_s, True)
        searches: list[tuple[str, bool | None]] = [(name, None)]
        if noisy_name != name and gallery.has_noisy_enrollments:
            # voiceprints enrolled in noise are scored on their own path, as verify does
            searches = [(name, False), (noisy_name, True)]
        scored = []
        for path_name, in_noise in searches:
            calibration = self.backend.path(path_name).calibration
            threshold = self.threshold(path_name, comparisons=len(gallery))
            for speaker_id, raw, normalized in gallery.rank(
                embedding.vector, path_name, top_k, enrolled_in_noise=in_noise
            ):
                llr = calibration.llr(normalized)
                candidate = Candidate(
                    speaker_id=speaker_id,
                    score=round(raw, 6),
                    normalized_score=round(normalized, 6),
                    probability=round(calibration.probability(llr), 6),
                )
                scored.append((llr, candidate, normalized >= threshold))
        # one path: the order of its normalised scores (the LLR is monotonic in it); two: LLRs
        scored.sort(key=lambda item: -item[0])
        candidates = [candidate for _, candidate, _ in scored[:top_k]]
        best = candidates[0] if scored and scored[0][2] else None
        return IdentificationResult(best=best, candidates=candidates)
