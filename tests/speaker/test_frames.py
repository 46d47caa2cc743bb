"""Privacy mode on the domain side: payload checks, energy VAD, quality and embedding from
frames, and decisions that agree with the audio path."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from tests.conftest import shared_data
from tests.speaker.conftest import as_clip
from voxguard.audio import load_audio
from voxguard.audio.quality import QualityCode
from voxguard.config import Settings
from voxguard.errors import (
    AudioTooShort,
    FeaturesTooLong,
    InvalidFeatures,
    InvalidInput,
    NoSpeechDetected,
)
from voxguard.speaker.augment import phone_channel
from voxguard.speaker.campplus import kaldi_fbank
from voxguard.speaker.engine import SpeakerEngine
from voxguard.speaker.features import mel_spectrogram
from voxguard.speaker.frames import (
    FrameAnalysis,
    analyze_frames,
    check_features,
    energy_speech_mask,
    fbank_frames,
    features_of,
    frame_rms,
)

READERS = ("103-1240-0000", "1034-121119-0000")
SETTINGS = Settings()


def _reader(name: str) -> np.ndarray:
    return load_audio(shared_data("librispeech", f"{name}.flac")).samples


def _noise(seconds: float, level: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (level * rng.standard_normal(int(seconds * 16000))).astype(np.float32)


def _bursts(*pieces: tuple[float, float]) -> np.ndarray:
    """Concatenated (seconds, level) stretches of noise."""
    return np.concatenate([_noise(s, lvl, i) for i, (s, lvl) in enumerate(pieces)])


def _analyze(samples: np.ndarray) -> FrameAnalysis:
    return analyze_frames(features_of(samples), SETTINGS)


def _payload(samples: np.ndarray, **changes: Any) -> dict[str, Any]:
    features = features_of(samples)
    payload: dict[str, Any] = {
        "mel": features.mel.tolist(),
        "frame_rms": features.frame_rms.tolist(),
        "n_samples": features.n_samples,
        "sample_rate": 16000,
        "n_fft": 400,
        "hop_length": 160,
        "n_mels": 40,
        "max_duration_s": 600.0,
    }
    payload.update(changes)
    return payload


def _check(payload: dict[str, Any]) -> Any:
    return check_features(
        payload.pop("mel"), payload.pop("frame_rms"), payload.pop("n_samples"), **payload
    )


# --- the payload ---------------------------------------------------------------------------


def test_frame_rms_is_one_value_per_mel_frame_and_keeps_the_energy() -> None:
    samples = _noise(1.01, 0.1)[:16037]
    rms = frame_rms(samples)
    assert rms.shape == (mel_spectrogram(samples).shape[0],) == (1 + 16037 // 160,)
    energy = float(np.sum(samples.astype(np.float64) ** 2))
    assert float(np.sum(rms.astype(np.float64) ** 2) * 160) == pytest.approx(energy, rel=1e-6)
    # The last hop holds 37 samples; the rest of it counts as zeros.
    tail = samples[-37:].astype(np.float64)
    assert rms[-1] == pytest.approx(np.sqrt(np.sum(tail**2) / 160), rel=1e-6)


def test_a_valid_payload_round_trips() -> None:
    samples = _noise(0.5, 0.1)
    features = _check(_payload(samples))
    np.testing.assert_array_equal(features.mel, mel_spectrogram(samples))
    assert features.n_frames == 51 and features.mel.dtype == np.float32


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"n_mels": 80}, InvalidFeatures, "n_mels is 80; only 40 is accepted"),
        ({"sample_rate": 8000}, InvalidFeatures, "sample_rate is 8000; only 16000"),
        ({"hop_length": 256}, InvalidFeatures, "hop_length is 256; only 160"),
        ({"n_fft": 512}, InvalidFeatures, "n_fft is 512; only 400"),
        ({"n_samples": 8160}, InvalidFeatures, r"mel has 51 frames; 8160 samples make .* = 52"),
        ({"n_samples": 0}, InvalidFeatures, "n_samples is 0; it must be at least 1"),
        ({"frame_rms": [0.1] * 50}, InvalidFeatures, "frame_rms has 50 values; it needs one"),
        ({"max_duration_s": 0.25}, FeaturesTooLong, r"0.5 s of audio; at most 0 s"),
    ],
)
def test_bad_payloads_say_what_is_wrong_and_what_is_accepted(
    changes: dict[str, Any], error: type[InvalidInput], message: str
) -> None:
    with pytest.raises(error, match=message) as caught:
        _check(_payload(_noise(0.5, 0.1), **changes))
    assert caught.value.http_status == (413 if error is FeaturesTooLong else 422)


def test_rows_of_the_wrong_width_are_refused() -> None:
    payload = _payload(_noise(0.5, 0.1))
    payload["mel"][3] = payload["mel"][3][:39]
    with pytest.raises(InvalidFeatures, match=r"mel rows have \[39, 40\] values; each frame"):
        _check(payload)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -1e-3, 1e300])
def test_values_must_be_finite_non_negative_floats(bad: float) -> None:
    payload = _payload(_noise(0.5, 0.1))
    payload["mel"][7][5] = bad
    with pytest.raises(InvalidFeatures, match=r"mel"):
        _check(payload)
    payload = _payload(_noise(0.5, 0.1))
    payload["frame_rms"][2] = bad
    with pytest.raises(InvalidFeatures, match=r"frame_rms"):
        _check(payload)


def test_filterbanks_are_optional_and_checked_when_sent() -> None:
    samples = _noise(0.5, 0.1)
    assert _check(_payload(samples)).fbank is None
    fbank = kaldi_fbank(samples)
    checked = _check(_payload(samples, fbank=fbank.tolist())).fbank
    np.testing.assert_array_equal(checked, fbank)
    assert checked.shape == (fbank_frames(samples.size), 80) == (48, 80)
    assert _check(_payload(samples[:399], fbank=[])).fbank.shape == (0, 80)
    with pytest.raises(InvalidFeatures, match=r"fbank has 47 frames; 8000 samples make .* = 48"):
        _check(_payload(samples, fbank=fbank[:-1].tolist()))
    narrow = fbank.tolist()
    narrow[2] = narrow[2][:40]
    with pytest.raises(InvalidFeatures, match=r"fbank rows have \[40, 80\] values"):
        _check(_payload(samples, fbank=narrow))
    for bad in (float("nan"), float("inf"), 1e300):
        broken = fbank.tolist()
        broken[3][1] = bad
        with pytest.raises(InvalidFeatures, match=r"fbank\[3, 1\] is .*; values must be finite"):
            _check(_payload(samples, fbank=broken))
    # log energies may be negative
    assert _check(_payload(samples, fbank=(fbank - 50).tolist())).fbank.min() < 0


def test_speech_filterbanks_follow_the_mel_speech_and_are_needed_for_campplus() -> None:
    samples = _bursts((1.0, 1e-3), (1.0, 0.3), (1.0, 1e-3))
    analysis = _analyze(samples)
    speech = analysis.speech_fbank()
    fbank = kaldi_fbank(samples)
    # frame i of the filterbanks (samples 160 i .. 160 i + 400) is speech when mel frame i + 1 is
    np.testing.assert_array_equal(speech, fbank[analysis.speech[1 : 1 + fbank.shape[0]]])
    assert abs(speech.shape[0] - int(analysis.speech.sum())) <= 3
    without = analyze_frames(replace(features_of(samples), fbank=None), SETTINGS)
    with pytest.raises(InvalidFeatures, match="fbank is missing: this server's speaker model"):
        without.speech_fbank()


# --- speech and quality from frames --------------------------------------------------------


def test_energy_vad_keeps_the_loud_stretch_only() -> None:
    samples = _bursts((1.0, 1e-3), (1.0, 0.1), (1.0, 1e-3))
    keep = energy_speech_mask(features_of(samples))
    # The loud second (frames 100-199 plus the centred frames straddling its edges) padded by
    # 3 frames (30 ms) on each side, nothing else.
    assert keep[100:200].all()
    assert 106 <= keep.sum() <= 108
    assert not keep[:95].any() and not keep[206:].any()


def test_energy_vad_bridges_short_pauses_and_drops_blips() -> None:
    pause = _bursts((1, 1e-3), (0.5, 0.1), (0.05, 1e-3), (0.5, 0.1), (1, 1e-3))
    edges = np.flatnonzero(np.diff(energy_speech_mask(features_of(pause)).astype(np.int8)))
    assert len(edges) == 2  # one run: the 50 ms pause is inside it
    blip = energy_speech_mask(features_of(_bursts((1, 1e-3), (0.1, 0.1), (1, 1e-3))))
    assert not blip.any()  # 100 ms is under min_speech_s
    samples = _bursts((1, 1e-3), (0.5, 1e-3), (1, 1e-3), (1, 0.1), (1, 1e-3))
    t = np.arange(8000) / 16000
    samples[16000:24000] += (0.1 * np.sin(2 * np.pi * 50 * t)).astype(np.float32)
    keep = energy_speech_mask(features_of(samples))
    # Half a second of loud 50 Hz hum is no speech; the burst of broadband noise is.
    assert not keep[:240].any() and keep[250:350].all()


def test_silence_has_no_speech() -> None:
    analysis = _analyze(np.zeros(16000, dtype=np.float32))
    assert not analysis.speech.any()
    assert QualityCode.NO_SPEECH in analysis.quality.codes


def test_speech_frames_are_volume_normalised_like_samples() -> None:
    loud_enough = _bursts((1, 1e-3), (2, 0.1), (1, 1e-3))  # speech at -20 dBFS: left alone
    analysis = _analyze(loud_enough)
    np.testing.assert_array_equal(
        analysis.speech_mel(-30.0), analysis.features.mel[analysis.speech]
    )
    # Below the target the gain makes the level irrelevant, as normalize_volume does.
    quiet, quieter = _analyze(0.2 * loud_enough), _analyze(0.02 * loud_enough)
    np.testing.assert_array_equal(quiet.speech, quieter.speech)
    np.testing.assert_allclose(quiet.speech_mel(-30.0), quieter.speech_mel(-30.0), rtol=1e-4)
    level = 10 * np.log10(np.mean(frame_rms(0.2 * loud_enough)[quiet.speech].astype(float) ** 2))
    assert quiet.quality.level_dbfs == pytest.approx(level, abs=0.01)


def test_quality_from_frames_tracks_the_audio_report(engine: SpeakerEngine) -> None:
    samples = _reader(READERS[0])
    audio = engine.front_end.analyze_clip(as_clip(samples)).quality
    frames = _analyze(samples).quality
    assert frames.duration_s == audio.duration_s
    assert frames.speech_s == pytest.approx(audio.speech_s, rel=0.2)
    assert frames.snr_db == pytest.approx(audio.snr_db, abs=1.0)
    assert frames.level_dbfs == pytest.approx(audio.level_dbfs, abs=1.5)
    assert frames.bandwidth_hz > 7000 and QualityCode.NARROWBAND not in frames.codes
    phone = _analyze(phone_channel(samples)).quality
    assert 3000 < phone.bandwidth_hz < 4500 and QualityCode.NARROWBAND in phone.codes
    condition = engine.backend.condition_of
    assert condition(phone.bandwidth_hz, phone.snr_db) == "phone"
    assert condition(frames.bandwidth_hz, frames.snr_db) == condition(
        audio.bandwidth_hz, audio.snr_db
    )


# --- embedding and decisions ---------------------------------------------------------------


def test_too_little_speech_is_refused(engine: SpeakerEngine) -> None:
    with pytest.raises(NoSpeechDetected):
        engine.embed_frames(_analyze(np.zeros(16000, dtype=np.float32)))
    with pytest.raises(AudioTooShort, match=r"at least 0\.50 s"):
        engine.embed_frames(_analyze(_bursts((1, 1e-3), (0.3, 0.1), (1, 1e-3))))


def test_features_path_decides_as_the_audio_path(engine: SpeakerEngine) -> None:
    a, b = _reader(READERS[0]), _reader(READERS[1])
    half = a.size // 2
    voiceprint = engine.enroll(
        [engine.embed(engine.front_end.analyze_clip(as_clip(a[:half])), variants=True)]
    )
    for probe, same in ((a[half:], True), (b, False)):
        by_audio = engine.embed(engine.front_end.analyze_clip(as_clip(probe)))
        by_frames = engine.embed_frames(_analyze(probe))
        assert by_frames.condition == by_audio.condition
        assert float(by_audio.vector @ by_frames.vector) > 0.97
        audio_result = engine.verify(voiceprint, by_audio)
        frames_result = engine.verify(voiceprint, by_frames)
        assert audio_result.accepted is frames_result.accepted is same
        assert frames_result.score == pytest.approx(audio_result.score, abs=0.03)
