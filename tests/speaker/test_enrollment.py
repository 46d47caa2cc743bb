"""Enrollment weighting, incremental updates and voiceprint serialisation."""

from __future__ import annotations

import numpy as np
import pytest

from voxguard.errors import InvalidInput, ModelMismatch
from voxguard.speaker.enrollment import enroll, enrolled_in_noise, voiceprint_variant
from voxguard.speaker.types import Embedding, Voiceprint


def _embedding(
    seed: int, speech_s: float = 3.0, quality: float = 0.8, condition: str = "clean"
) -> Embedding:
    rng = np.random.default_rng(seed)
    vector = rng.standard_normal(256).astype(np.float32)
    phone = rng.standard_normal(256).astype(np.float32)
    return Embedding(
        vector=vector / np.linalg.norm(vector),
        speech_s=speech_s,
        model_version="m1",
        quality=quality,
        condition=condition,
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


def test_a_voiceprint_knows_when_most_of_its_speech_was_noisy() -> None:
    clean, noisy = _embedding(1, speech_s=4.0), _embedding(2, 6.0, condition="noisy")
    assert not enrolled_in_noise(enroll([clean]))
    assert enrolled_in_noise(enroll([noisy]))
    assert enrolled_in_noise(enroll([clean, noisy]))  # 6 s of 10 noisy
    assert not enrolled_in_noise(enroll([clean, _embedding(3, 4.0, condition="noisy")]))  # half
    # a phone recording is not "noisy": the phone path has its own variant
    assert not enrolled_in_noise(enroll([_embedding(4, condition="phone")]))
    # added later: the same answer as all at once, and it survives storage
    stepwise = enroll([_embedding(5, 2.0, condition="noisy")], existing=enroll([clean]))
    assert not enrolled_in_noise(stepwise)
    stepwise = enroll([noisy], existing=stepwise)
    assert enrolled_in_noise(stepwise)
    assert enrolled_in_noise(Voiceprint.from_bytes(stepwise.to_bytes()))


def test_voiceprints_stored_before_noise_was_recorded_count_as_clean() -> None:
    voiceprint = enroll([_embedding(1, condition="noisy")])
    old = Voiceprint(
        vector=voiceprint.vector,
        n_samples=1,
        speech_s=3.0,
        quality=0.8,
        model_version="m1",
        extra={k: v for k, v in voiceprint.extra.items() if k != "_noisy_weight"},
    )
    assert not enrolled_in_noise(old)
    assert enrolled_in_noise(enroll([_embedding(2, 9.0, condition="noisy")], existing=old))
