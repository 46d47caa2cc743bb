"""SpeakerEngine on real speech: determinism, short and long audio, verification."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from pydantic import ValidationError

from tests.conftest import shared_data
from tests.speaker.conftest import as_clip
from voxguard.audio import load_audio
from voxguard.config import Settings
from voxguard.errors import AudioTooShort, ModelMismatch, NoSpeechDetected
from voxguard.speaker.backend import NOISY_ENROLLED
from voxguard.speaker.engine import SpeakerEngine

READERS = ("103-1240-0000", "1034-121119-0000", "1040-133433-0000")


def _reader(name: str) -> np.ndarray:
    return load_audio(shared_data("librispeech", f"{name}.flac")).samples


def test_embedding_is_deterministic_and_normalised(engine: SpeakerEngine) -> None:
    analyzed = engine.front_end.analyze_clip(as_clip(_reader(READERS[0])[: 16000 * 4]))
    first = engine.embed(analyzed)
    second = engine.embed(analyzed)
    np.testing.assert_array_equal(first.vector, second.vector)
    assert abs(float(np.linalg.norm(first.vector)) - 1.0) < 1e-5
    assert first.model_version == engine.model_version
    assert first.condition in ("clean", "noisy")


def test_half_second_of_speech_embeds(engine: SpeakerEngine) -> None:
    analyzed = engine.front_end.analyze_clip(as_clip(_reader(READERS[0])))
    start = analyzed.segments[0].start_s
    piece = analyzed.clip.samples[int(start * 16000) : int(start * 16000) + 12000]
    short = engine.front_end.analyze_clip(as_clip(piece))
    if short.quality.speech_s < engine.settings.min_embed_speech_s:
        pytest.skip("VAD kept less than the minimum from this 0.75 s piece")
    assert engine.embed(short).vector.shape == (engine.embedding_size,)


def test_too_little_speech_is_refused(engine: SpeakerEngine) -> None:
    silence = engine.front_end.analyze_clip(as_clip(np.zeros(16000, dtype=np.float32)))
    with pytest.raises(NoSpeechDetected):
        engine.embed(silence)
    blip = _reader(READERS[0])[16000 : 16000 + 4000]
    analyzed = engine.front_end.analyze_clip(as_clip(blip))
    with pytest.raises((AudioTooShort, NoSpeechDetected)):
        engine.embed(analyzed)
    # Evaluation mode scores what there is instead of refusing.
    assert engine.embed(analyzed, strict=False).vector.shape == (engine.embedding_size,)


def test_long_audio_is_chunked(engine: SpeakerEngine) -> None:
    wav = _reader(READERS[1])
    long = np.tile(wav, int(np.ceil(16000 * 90 / wav.size)))[: 16000 * 90]
    embedding = engine.embed(engine.front_end.analyze_clip(as_clip(long)))
    short = engine.embed(engine.front_end.analyze_clip(as_clip(wav)))
    assert embedding.speech_s > 40  # over 6000 mel frames: the chunked path
    assert float(embedding.vector @ short.vector) > 0.9


def test_verification_separates_speakers(engine: SpeakerEngine) -> None:
    a, b = _reader(READERS[0]), _reader(READERS[1])
    half_a = a.size // 2
    enroll = engine.embed(engine.front_end.analyze_clip(as_clip(a[:half_a])), variants=True)
    assert set(enroll.variants) == {"phone"}
    voiceprint = engine.enroll([enroll])
    same = engine.verify(
        voiceprint, engine.embed(engine.front_end.analyze_clip(as_clip(a[half_a:])))
    )
    other = engine.verify(voiceprint, engine.embed(engine.front_end.analyze_clip(as_clip(b))))
    assert same.accepted and not other.accepted
    assert same.llr > other.llr and same.probability > 0.5 > other.probability


def test_model_version_mismatch_is_refused(engine: SpeakerEngine) -> None:
    from dataclasses import replace

    embedding = engine.embed(engine.front_end.analyze_clip(as_clip(_reader(READERS[0]))))
    voiceprint = replace(engine.enroll([embedding]), model_version="other-model")
    with pytest.raises(ModelMismatch):
        engine.verify(voiceprint, embedding)


def test_sub_second_tests_take_the_short_path(engine: SpeakerEngine) -> None:
    a = _reader(READERS[0])
    half = a.size // 2
    voiceprint = engine.enroll(
        [engine.embed(engine.front_end.analyze_clip(as_clip(a[:half])), variants=True)]
    )
    analyzed = engine.front_end.analyze_clip(as_clip(a[half:]))
    start = int(analyzed.segments[0].start_s * 16000)
    short = engine.embed(engine.front_end.analyze_clip(as_clip(a[half + start :][:12800])))
    assert engine.backend.path_for(short.condition, short.speech_s) == "short"
    result = engine.verify(voiceprint, short)
    # No AS-norm on the short path: the normalised score is the compensated cosine.
    assert result.normalized_score == result.score
    assert 0.0 <= result.probability <= 1.0


def test_paths_follow_condition_and_duration(engine: SpeakerEngine) -> None:
    backend = engine.backend
    assert backend.path_for("clean", 10.0) == "clean"
    assert backend.path_for("noisy", 10.0) == "noisy"
    assert backend.path_for("phone", 10.0) == "phone"
    assert backend.path_for("clean", 2.0) == "mid"
    assert backend.path_for("phone", 0.5) == "short_phone"
    # against a voiceprint enrolled in noise, a long clean test has a path of its own
    assert backend.path_for("clean", 10.0, enrolled_in_noise=True) == NOISY_ENROLLED
    for condition, speech_s, path in (
        ("noisy", 10.0, "noisy"),
        ("phone", 10.0, "phone"),
        ("clean", 2.0, "mid"),
        ("clean", 0.5, "short"),
    ):
        assert backend.path_for(condition, speech_s, enrolled_in_noise=True) == path
    # a back end without it (before ge2e-backend-4) scores them as before
    older = replace(backend, paths={k: v for k, v in backend.paths.items() if k != NOISY_ENROLLED})
    assert older.path_for("clean", 10.0, enrolled_in_noise=True) == "clean"
    assert older.path_for("noisy", 10.0, enrolled_in_noise=True) == "noisy"
    assert backend.condition_of(3800.0, 40.0) == "phone"
    assert backend.condition_of(8000.0, 10.0) == "noisy"


@pytest.mark.parametrize(
    ("name", "version", "backend", "size"),
    [("campplus", "campplus-", "campplus-backend-", 192), ("ge2e", "ge2e-", "ge2e-backend-", 256)],
)
def test_the_speaker_model_is_a_setting_with_its_own_back_end(
    name: str, version: str, backend: str, size: int
) -> None:
    engine = SpeakerEngine(Settings(speaker_model=name))  # type: ignore[arg-type]
    assert engine.model_version.startswith(version)
    assert engine.backend.version.startswith(backend)
    assert engine.backend.model_version == engine.model_version
    a, b = _reader(READERS[0]), _reader(READERS[1])
    half = a.size // 2
    voiceprint = engine.enroll(
        [engine.embed(engine.front_end.analyze_clip(as_clip(a[:half])), variants=True)]
    )
    assert engine.embedding_size == size
    assert voiceprint.vector.shape == (size,) and len(voiceprint.extra["phone"]) == size
    same = engine.verify(voiceprint, engine.embed(engine.front_end.analyze_clip(as_clip(a[half:]))))
    other = engine.verify(voiceprint, engine.embed(engine.front_end.analyze_clip(as_clip(b))))
    assert same.accepted and not other.accepted


def test_a_voiceprint_of_the_other_model_is_refused_with_re_enroll() -> None:
    ge2e = SpeakerEngine(Settings(speaker_model="ge2e"))
    campplus = SpeakerEngine(Settings(speaker_model="campplus"))
    clip = as_clip(_reader(READERS[0]))
    old = ge2e.enroll([ge2e.embed(ge2e.front_end.analyze_clip(clip))])
    new = campplus.embed(campplus.front_end.analyze_clip(clip))
    with pytest.raises(ModelMismatch, match="re-enroll"):
        campplus.verify(old, new)


def test_an_unknown_speaker_model_is_refused() -> None:
    with pytest.raises(ValidationError, match="campplus"):
        Settings(speaker_model="xvector")  # type: ignore[arg-type]
