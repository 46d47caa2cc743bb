"""Enrollment: embeddings of one speaker -> a voiceprint, updatable with later samples.

Each embedding counts with weight ``min(speech_s, 60)``: longer recordings dominate. The
quality score is not part of the weight: on sub-second clips it is 0 whenever the VAD finds
no speech, which made those samples count 1/20 and cost 0.6 EER points on the FSDD development
protocol (``bench/fsdd_dev.py``, docs/speaker.md). The voiceprint keeps, per channel
condition, the L2-normalised weighted sum of the embeddings and that sum's norm, so adding
samples later gives exactly the voiceprint that enrolling everything at once would have given.
It also keeps how much of that weight came from noisy recordings (babble, crowds), so that a
trial against a voiceprint enrolled in noise can be scored as a noisy trial
(``SpeakerBackend.path_for``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from voxguard.errors import InvalidInput, ModelMismatch
from voxguard.speaker.types import Embedding, Vector, Voiceprint

CONDITIONS = ("clean", "phone")
_NORMS_KEY = "_norms"
_WEIGHT_KEY = "_weight"
_NOISY_WEIGHT_KEY = "_noisy_weight"
_MAX_WEIGHT_SPEECH_S = 60.0


def sample_weight(embedding: Embedding) -> float:
    return min(embedding.speech_s, _MAX_WEIGHT_SPEECH_S)


def _variant(embedding: Embedding, condition: str) -> Vector:
    if condition == "clean":
        return embedding.vector
    return embedding.variants.get(condition, embedding.vector)


def voiceprint_variant(voiceprint: Voiceprint, condition: str) -> Vector:
    """The voiceprint vector for a channel condition (the clean one when none was stored)."""
    if condition != "clean" and condition in voiceprint.extra:
        return np.asarray(voiceprint.extra[condition], dtype=np.float32)
    return voiceprint.vector


def enrolled_in_noise(voiceprint: Voiceprint) -> bool:
    """True when more than half of the voiceprint's weight came from noisy recordings
    (voiceprints made before this was recorded count as clean)."""
    weight = voiceprint.extra.get(_WEIGHT_KEY)
    noisy = voiceprint.extra.get(_NOISY_WEIGHT_KEY)
    if not weight or not noisy:
        return False
    return float(noisy[0]) > 0.5 * float(weight[0])


def _existing_sums(voiceprint: Voiceprint) -> tuple[dict[str, np.ndarray], float]:
    norms = voiceprint.extra.get(_NORMS_KEY)
    weight = voiceprint.extra.get(_WEIGHT_KEY)
    total = float(weight[0]) if weight else min(voiceprint.speech_s, _MAX_WEIGHT_SPEECH_S)
    sums = {}
    for index, condition in enumerate(CONDITIONS):
        norm = float(norms[index]) if norms and index < len(norms) else total
        sums[condition] = voiceprint_variant(voiceprint, condition).astype(np.float64) * norm
    return sums, total


def enroll(embeddings: Sequence[Embedding], existing: Voiceprint | None = None) -> Voiceprint:
    """A voiceprint from ``embeddings``, added to ``existing`` when given."""
    if not embeddings and existing is None:
        raise InvalidInput("Enrollment needs at least one recording with speech.")
    versions = {e.model_version for e in embeddings}
    if existing is not None:
        versions.add(existing.model_version)
    if len(versions) > 1:
        raise ModelMismatch(
            f"Cannot mix embeddings from different models ({', '.join(sorted(versions))}); "
            "re-enroll the speaker with the current model."
        )
    if existing is not None:
        sums, total_weight = _existing_sums(existing)
        n_samples, speech_s = existing.n_samples, existing.speech_s
        quality_sum = existing.quality * existing.speech_s
        noisy_weight = float(existing.extra.get(_NOISY_WEIGHT_KEY, [0.0])[0])
    else:
        dim = embeddings[0].vector.size
        sums = {c: np.zeros(dim, dtype=np.float64) for c in CONDITIONS}
        total_weight, n_samples, speech_s, quality_sum = 0.0, 0, 0.0, 0.0
        noisy_weight = 0.0
    for embedding in embeddings:
        weight = sample_weight(embedding)
        for condition in CONDITIONS:
            sums[condition] += weight * _variant(embedding, condition).astype(np.float64)
        total_weight += weight
        if embedding.condition == "noisy":
            noisy_weight += weight
        n_samples += 1
        speech_s += embedding.speech_s
        quality_sum += embedding.quality * embedding.speech_s
    norms = [float(np.linalg.norm(sums[c])) for c in CONDITIONS]
    vectors = {
        c: (sums[c] / max(n, 1e-12)).astype(np.float32)
        for c, n in zip(CONDITIONS, norms, strict=True)
    }
    extra = {c: [float(x) for x in vectors[c]] for c in CONDITIONS if c != "clean"}
    extra[_NORMS_KEY] = norms
    extra[_WEIGHT_KEY] = [total_weight]
    extra[_NOISY_WEIGHT_KEY] = [noisy_weight]
    return Voiceprint(
        vector=vectors["clean"],
        n_samples=n_samples,
        speech_s=round(speech_s, 3),
        quality=round(quality_sum / speech_s, 4) if speech_s > 0 else 0.0,
        model_version=versions.pop(),
        extra=extra,
    )
