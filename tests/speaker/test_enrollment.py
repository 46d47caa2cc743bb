"""Enrollment weighting, incremental updates and voiceprint serialisation."""

from __future__ import annotations

import numpy as np
import pytest

from voxguard.errors import InvalidInput, ModelMismatch
from voxguard.speaker.enrollment import enroll, voiceprint_variant
from voxguard.speaker.types import Embedding, Voiceprint


def _embedding(seed: int, speech_s: float = 3.0, quality: float = 0.8) -> Embedding:
    rng = np.random.default_rng(seed)
    vector = rng.standard_normal(256).astype(np.float32)
    phone = rng.standard_normal(256).astype(np.float32)
    return Embedding(
        vector=vector / np.linalg.norm(vector),
        speech_s=speech_s,
        model_version="m1",
        quality=quality,
        variants={"phone": phone / np.linalg.norm(phone)},
    )


def test_adding_samples_later_equals_enrolling_all_at_once() -> None:
    samples = [_embedding(i, speech_s=2.0 + i, quality=0.5 + 0.1 * i) for i in range(4)]
    at_once = enroll(samples)
    stepwise = enroll(samples[2:], existing=enroll(samples[:2]))
    np.testing.assert_allclose(stepwise.vector, at_once.vector, atol=1e-6)
    np.testing.assert_allclose(
        voiceprint_variant(stepwise, "phone"), voiceprint_variant(at_once, "phone"), atol=1e-6
    )
    assert stepwise.n_samples == at_once.n_samples == 4
    assert stepwise.speech_s == pytest.approx(at_once.speech_s)
    assert stepwise.quality == pytest.approx(at_once.quality, abs=1e-3)


def test_longer_cleaner_samples_weigh_more() -> None:
    strong, weak = _embedding(1, speech_s=20.0, quality=1.0), _embedding(2, 1.0, 0.2)
    voiceprint = enroll([strong, weak])
    assert float(voiceprint.vector @ strong.vector) > float(voiceprint.vector @ weak.vector)
    assert abs(float(np.linalg.norm(voiceprint.vector)) - 1.0) < 1e-5


def test_voiceprint_round_trips_bytes() -> None:
    voiceprint = enroll([_embedding(1), _embedding(2)])
    again = Voiceprint.from_bytes(voiceprint.to_bytes())
    np.testing.assert_allclose(again.vector, voiceprint.vector, atol=1e-7)
    np.testing.assert_allclose(
        voiceprint_variant(again, "phone"), voiceprint_variant(voiceprint, "phone"), atol=1e-7
    )
    assert again.n_samples == 2 and again.model_version == "m1"


def test_refuses_empty_and_mixed_models() -> None:
    with pytest.raises(InvalidInput):
        enroll([])
    other = Embedding(vector=_embedding(3).vector, speech_s=1.0, model_version="m2")
    with pytest.raises(ModelMismatch):
        enroll([_embedding(1), other])
