import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.audio.test_vad import CountingDetector
from tests.conftest import shared_data
from tests.spoof.models import with_calibration_block
from voxguard.audio import AudioClip, AudioMetadata, load_audio
from voxguard.audio.analysis import AudioFrontEnd
from voxguard.config import Settings
from voxguard.errors import AudioTooShort, ModelMismatch, ModelUnavailable, NoSpeechDetected
from voxguard.models import bundled_model_path
from voxguard.spoof import SpoofDetector
from voxguard.spoof.features import make_windows


@pytest.fixture(scope="module")
def detector() -> SpoofDetector:
    return SpoofDetector()


def _clip(samples: np.ndarray) -> AudioClip:
    meta = AudioMetadata("wav", "pcm_s16le", 16000, 1, samples.size / 16000, samples.size * 2)
    return AudioClip(samples.astype(np.float32), 16000, meta)


def test_scores_a_real_file_with_per_window_output(detector: SpoofDetector) -> None:
    path = shared_data("librispeech", "103-1240-0000.flac")
    result = detector.detect(path)
    assert 0.0 <= result.probability <= 1.0
    assert result.verdict in {"bonafide", "spoof"}
    assert result.is_spoof == (result.probability >= result.threshold)
    assert len(result.windows) >= 2
    duration = 16.0  # 103-1240-0000.flac is just over 14 s
    for w in result.windows:  # on the file's time axis, spanning pauses the VAD cut out
        assert 0.0 <= w.start_s < w.end_s <= duration
        assert w.end_s - w.start_s >= detector.params.window_s - 0.01
    assert [w.start_s for w in result.windows] == sorted(w.start_s for w in result.windows)
    # Documented aggregation: the file score is the mean of the window logits.
    assert result.score == pytest.approx(np.mean([w.logit for w in result.windows]), abs=1e-4)
    assert result.probability == pytest.approx(float(detector.calibrate(result.score)))


def test_window_times_are_on_the_recordings_own_time_axis(detector: SpoofDetector) -> None:
    speech = shared_data("librispeech", "103-1240-0000.flac")
    plain = detector.detect(speech)
    # the same speech after 5 s of silence: the same windows, 5 s later
    x = load_audio(speech).samples
    padded = detector.detect_clip(_clip(np.concatenate([np.zeros(5 * 16000), x])))
    assert len(padded.windows) == len(plain.windows)
    for a, b in zip(plain.windows, padded.windows, strict=True):
        assert b.start_s == pytest.approx(a.start_s + 5.0, abs=0.05)
        assert b.end_s == pytest.approx(a.end_s + 5.0, abs=0.05)


def test_the_whole_clip_fallback_maps_times_past_digital_silence(
    detector: SpoofDetector,
) -> None:
    t = np.arange(16000 * 3) / 16000
    tone = 0.3 * np.sin(2 * np.pi * 220 * t)
    result = detector.detect_clip(_clip(np.concatenate([np.zeros(16000 * 2), tone])))
    (window,) = result.windows
    assert not result.used_vad
    assert window.start_s == pytest.approx(2.0, abs=0.01)
    assert window.end_s == pytest.approx(5.0, abs=0.01)


def test_window_logits_match_windows(detector: SpoofDetector) -> None:
    x = (0.05 * np.random.default_rng(0).standard_normal(16000 * 9)).astype(np.float32)
    windows = [w for _, w in make_windows(x, detector.params)]
    assert detector.window_logits(windows).shape == (len(windows),)
    assert detector.window_logits([]).shape == (0,)


def test_falls_back_to_whole_clip_without_speech(detector: SpoofDetector) -> None:
    t = np.arange(16000 * 3) / 16000
    result = detector.detect_clip(_clip(0.3 * np.sin(2 * np.pi * 220 * t)))
    assert len(result.windows) == 1
    assert 0.0 <= result.probability <= 1.0


def test_silence_is_no_speech_and_a_blip_is_too_short(detector: SpoofDetector) -> None:
    with pytest.raises(NoSpeechDetected, match="silent"):
        detector.detect_clip(_clip(np.zeros(16000 * 3)))
    t = np.arange(1600) / 16000
    with pytest.raises(AudioTooShort, match=r"the recording has 0\.10 s"):
        detector.detect_clip(_clip(0.3 * np.sin(2 * np.pi * 220 * t)))


def test_calibration_is_monotonic(detector: SpoofDetector) -> None:
    p = detector.calibrate(np.linspace(-20, 20, 101))
    assert np.all(np.diff(p) > 0)
    assert 0 < p[0] < p[-1] < 1


def _copy_model(tmp_path: Path) -> Path:
    src = bundled_model_path("spoof")
    dst = tmp_path / "spoof"
    shutil.copytree(src, dst)
    return dst


def _edit_sidecar(model_dir: Path, **changes: object) -> None:
    path = model_dir / "spoof_detector.json"
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data))


def test_missing_model_dir_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable):
        SpoofDetector(model_dir=tmp_path)


@pytest.mark.parametrize(
    "changes",
    [
        {"format": "something-else/9"},
        {"sha256": "0" * 64},
        {"labels": ["spoof", "bonafide"]},
        {"aggregation": "max"},
        {"features": {"sample_rate": 16000, "mystery": 1}},
        {"features": {"sample_rate": 8000}},
        {"inputs": [{"name": "nope", "kind": "log_spectrogram"}]},
        {
            "inputs": [
                {"name": "stats", "kind": "mystery"},
                {"name": "power", "kind": "power_spectrogram"},
            ]
        },
        {"inputs": []},
        # The graph takes two inputs; a sidecar naming only one of them is refused.
        {"inputs": [{"name": "stats", "kind": "spectral_statistics"}]},
        {"metrics": {"operating_points": [{"threshold": 0.5, "false_alarm": 0.2}]}},
        {"metrics": {"operating_points": [{"threshold": 0.5, "false_alarm": 2, "miss": 0.1}]}},
        {"thresholds": {"wideband": 1.5}},
        {"thresholds": {"wideband": "high"}},
        {"thresholds": {"mystery": 0.7}},
        {"thresholds": [0.7]},
    ],
)
def test_sidecar_mismatch_is_refused(tmp_path: Path, changes: dict[str, object]) -> None:
    model_dir = _copy_model(tmp_path)
    _edit_sidecar(model_dir, **changes)
    with pytest.raises(ModelMismatch):
        SpoofDetector(model_dir=model_dir)


def test_corrupt_sidecar_is_refused(tmp_path: Path) -> None:
    model_dir = _copy_model(tmp_path)
    (model_dir / "spoof_detector.json").write_text("{not json")
    with pytest.raises(ModelMismatch):
        SpoofDetector(model_dir=model_dir)


def test_a_configured_spoof_threshold_moves_the_verdict() -> None:
    from voxguard.config import Settings

    path = shared_data("librispeech", "103-1240-0000.flac")
    default = SpoofDetector()
    assert default.threshold == default.sidecar.threshold  # unset: the model's own
    strict = SpoofDetector(settings=Settings(spoof_threshold=0.999))
    lenient = SpoofDetector(settings=Settings(spoof_threshold=0.001))
    assert strict.detect(path).verdict == "bonafide"
    result = lenient.detect(path)
    assert result.verdict == "spoof" and result.threshold == 0.001


def test_each_block_judges_by_its_own_threshold_unless_one_is_configured(
    tmp_path: Path,
) -> None:
    from voxguard.config import Settings
    from voxguard.training.detector.augment import TEST_CHANNELS

    model_dir = _copy_model(tmp_path)
    # Thresholds either side of what this reader scores, so each verdict shows which applied.
    plain = SpoofDetector(model_dir=model_dir)
    samples = wide_samples(shared_data("librispeech", "103-1240-0000.flac"))
    clean, mp3 = _clip(samples), _clip(TEST_CHANNELS["mp3-64k"](samples))
    p_clean, p_mp3 = plain.detect_clip(clean).probability, plain.detect_clip(mp3).probability
    _edit_sidecar(
        model_dir,
        thresholds={"wideband": p_clean + 1e-3, "band_limited": max(p_mp3 - 1e-3, 1e-4)},
    )
    detector = SpoofDetector(model_dir=model_dir)
    wide, limited = detector.detect_clip(clean), detector.detect_clip(mp3)
    assert (wide.channel, limited.channel) == ("wideband", "band_limited")
    assert wide.threshold == pytest.approx(p_clean + 1e-3) and wide.verdict == "bonafide"
    assert limited.threshold == pytest.approx(max(p_mp3 - 1e-3, 1e-4))
    assert limited.verdict == "spoof"
    assert detector.threshold_for("narrowband") == detector.sidecar.threshold  # none of its own
    # Short speech has its own block: none in this sidecar, so the default.
    assert detector.threshold_for("band_limited", short_speech=True) == detector.threshold
    # VOXGUARD_SPOOF_THRESHOLD overrides every block.
    configured = SpoofDetector(model_dir=model_dir, settings=Settings(spoof_threshold=0.999))
    assert configured.detect_clip(mp3).threshold == 0.999


def test_short_speech_on_any_channel_is_judged_by_the_short_speech_threshold(
    tmp_path: Path,
) -> None:
    model_dir = _copy_model(tmp_path)
    samples = wide_samples(shared_data("librispeech", "103-1240-0000.flac"))
    short = _clip(samples[16000 * 2 : int(16000 * 3.5)])  # 1.5 s of continuous reading
    p_short = SpoofDetector(model_dir=model_dir).detect_clip(short).probability
    # The short clip's own threshold just below its probability, the wideband one far above.
    _edit_sidecar(
        model_dir, thresholds={"wideband": 0.999, "short_speech": max(p_short - 1e-3, 1e-4)}
    )
    detector = SpoofDetector(model_dir=model_dir)
    result = detector.detect_clip(short)
    assert (result.channel, result.short_speech) == ("wideband", True)
    assert result.threshold == pytest.approx(max(p_short - 1e-3, 1e-4))
    assert result.verdict == "spoof"
    assert detector.threshold_for("narrowband", short_speech=True) == result.threshold
    assert detector.thresholds_by_block() == {
        "wideband": 0.999,
        "narrowband": detector.threshold,
        "band_limited": detector.threshold,
        "short_speech": result.threshold,
    }
    long = detector.detect_clip(_clip(samples))
    assert (long.short_speech, long.threshold) == (False, 0.999)


def test_a_threshold_for_an_unknown_block_is_named(tmp_path: Path) -> None:
    model_dir = _copy_model(tmp_path)
    _edit_sidecar(model_dir, thresholds={"short": 0.7})
    with pytest.raises(ModelMismatch, match=r"unknown threshold block 'short'.*short_speech"):
        SpoofDetector(model_dir=model_dir)


def test_the_bundled_sidecars_block_thresholds_are_valid_probabilities() -> None:
    thresholds = SpoofDetector().sidecar.thresholds
    assert set(thresholds) <= {"wideband", "band_limited", "narrowband", "short_speech"}
    assert all(0.0 < t < 1.0 for t in thresholds.values())


# Calibration blocks the routing tests add to the bundled sidecar: mappings far enough from the
# bundled ones that a test can tell which one gave a probability.
NARROWBAND = {"scale": 0.5, "offset": -2.0, "below_high_band_db": -45.0}
BAND_LIMITED = {"scale": 0.5, "offset": -1.5, "below_top_band_db": -40.0}


def _with_narrowband_calibration(tmp_path: Path, narrowband: object) -> Path:
    return with_calibration_block(tmp_path, "narrowband", narrowband)


def test_phone_line_speech_gets_the_narrowband_calibration(tmp_path: Path) -> None:
    from scipy.signal import resample_poly

    detector = SpoofDetector(model_dir=_with_narrowband_calibration(tmp_path, NARROWBAND))
    wideband = shared_data("librispeech", "103-1240-0000.flac")
    wide = detector.detect(wideband)
    assert wide.channel == "wideband"
    assert wide.probability == pytest.approx(float(detector.calibrate(wide.score)))
    # The same speech through an 8 kHz line, delivered as a 16 kHz file.
    phone = resample_poly(resample_poly(wide_samples(wideband), 1, 2), 2, 1)
    narrow = detector.detect_clip(_clip(phone))
    assert narrow.channel == "narrowband"
    expected = 1.0 / (1.0 + np.exp(-(0.5 * narrow.score - 2.0)))
    assert narrow.probability == pytest.approx(expected, abs=1e-6)
    assert narrow.probability != pytest.approx(float(detector.calibrate(narrow.score)))


def wide_samples(path: Path) -> np.ndarray:
    from voxguard.audio import load_audio

    return load_audio(path).samples


def test_without_a_narrowband_calibration_phone_speech_is_calibrated_as_wideband(
    tmp_path: Path,
) -> None:
    from scipy.signal import resample_poly

    model_dir = _with_narrowband_calibration(tmp_path, None)
    sidecar = json.loads((model_dir / "spoof_detector.json").read_text())
    del sidecar["calibration"]["narrowband"]
    (model_dir / "spoof_detector.json").write_text(json.dumps(sidecar))
    detector = SpoofDetector(model_dir=model_dir)
    assert detector.sidecar.calibration.narrowband is None
    samples = wide_samples(shared_data("librispeech", "103-1240-0000.flac"))
    result = detector.detect_clip(_clip(resample_poly(resample_poly(samples, 1, 2), 2, 1)))
    assert result.channel == "wideband"
    assert result.probability == pytest.approx(float(detector.calibrate(result.score)))


def test_a_malformed_narrowband_calibration_is_named(tmp_path: Path) -> None:
    model_dir = _with_narrowband_calibration(tmp_path, {"scale": 1.0})
    with pytest.raises(ModelMismatch, match=r"calibration\.narrowband needs"):
        SpoofDetector(model_dir=model_dir)


def test_short_speech_gets_the_short_speech_calibration_before_the_phone_line_one(
    tmp_path: Path,
) -> None:
    from scipy.signal import resample_poly

    with_calibration_block(tmp_path, "narrowband", NARROWBAND)
    model_dir = with_calibration_block(
        tmp_path, "short_speech", {"scale": 0.25, "offset": 1.0, "below_speech_s": 2.0}
    )
    detector = SpoofDetector(model_dir=model_dir)
    samples = wide_samples(shared_data("librispeech", "103-1240-0000.flac"))
    short = samples[16000 * 2 : int(16000 * 3.5)]  # 1.5 s of continuous reading
    for clip, channel in (
        (short, "wideband"),
        (resample_poly(resample_poly(short, 1, 2), 2, 1), "narrowband"),
    ):
        result = detector.detect_clip(_clip(clip))
        assert (result.channel, result.short_speech) == (channel, True)
        assert result.speech_s < 2.0
        expected = 1.0 / (1.0 + np.exp(-(0.25 * result.score + 1.0)))
        assert result.probability == pytest.approx(expected, abs=1e-6)
        assert result.windows[0].probability == pytest.approx(expected, abs=1e-6)
    # Long speech keeps its channel's calibration.
    long = detector.detect_clip(_clip(samples))
    assert (long.channel, long.short_speech) == ("wideband", False)
    assert long.probability == pytest.approx(float(detector.calibrate(long.score)))


def test_speech_with_an_empty_top_band_gets_the_band_limited_calibration(
    tmp_path: Path,
) -> None:
    from scipy.signal import resample_poly

    from voxguard.training.detector.augment import TEST_CHANNELS

    with_calibration_block(tmp_path, "narrowband", NARROWBAND)
    detector = SpoofDetector(
        model_dir=with_calibration_block(tmp_path, "band_limited", BAND_LIMITED)
    )
    samples = wide_samples(shared_data("librispeech", "103-1240-0000.flac"))
    assert detector.detect_clip(_clip(samples)).channel == "wideband"
    mp3 = detector.detect_clip(_clip(TEST_CHANNELS["mp3-64k"](samples)))
    assert mp3.channel == "band_limited"
    expected = 1.0 / (1.0 + np.exp(-(0.5 * mp3.score - 1.5)))
    assert mp3.probability == pytest.approx(expected, abs=1e-6)
    assert mp3.windows[0].probability == pytest.approx(
        1.0 / (1.0 + np.exp(-(0.5 * mp3.windows[0].logit - 1.5))), abs=1e-6
    )
    # A phone line empties the top band too, but it is a phone line first.
    phone = detector.detect_clip(_clip(resample_poly(resample_poly(samples, 1, 2), 2, 1)))
    assert phone.channel == "narrowband"


def test_without_a_band_limited_calibration_an_mp3_is_calibrated_as_wideband(
    tmp_path: Path,
) -> None:
    from voxguard.training.detector.augment import TEST_CHANNELS

    model_dir = with_calibration_block(tmp_path, "band_limited", None)
    sidecar = json.loads((model_dir / "spoof_detector.json").read_text())
    del sidecar["calibration"]["band_limited"]
    (model_dir / "spoof_detector.json").write_text(json.dumps(sidecar))
    detector = SpoofDetector(model_dir=model_dir)
    assert detector.sidecar.calibration.band_limited is None
    samples = wide_samples(shared_data("librispeech", "103-1240-0000.flac"))
    result = detector.detect_clip(_clip(TEST_CHANNELS["mp3-64k"](samples)))
    assert result.channel == "wideband"
    assert result.probability == pytest.approx(float(detector.calibrate(result.score)))


def test_a_malformed_band_limited_calibration_is_named(tmp_path: Path) -> None:
    model_dir = with_calibration_block(tmp_path, "band_limited", {"scale": 1.0, "offset": 0.0})
    with pytest.raises(ModelMismatch, match=r"calibration\.band_limited needs numbers"):
        SpoofDetector(model_dir=model_dir)


def test_a_malformed_short_speech_calibration_is_named(tmp_path: Path) -> None:
    model_dir = with_calibration_block(tmp_path, "short_speech", {"scale": 1.0, "offset": "x"})
    with pytest.raises(ModelMismatch, match=r"calibration\.short_speech needs numbers"):
        SpoofDetector(model_dir=model_dir)


def test_the_bundled_model_calibrates_an_mp3_at_16_khz_as_band_limited(
    detector: SpoofDetector,
) -> None:
    from voxguard.training.detector.augment import TEST_CHANNELS

    block = detector.sidecar.calibration.band_limited
    assert block is not None and block.below_top_band_db == -40.0
    samples = wide_samples(shared_data("librispeech", "103-1240-0000.flac"))
    mp3 = detector.detect_clip(_clip(TEST_CHANNELS["mp3-64k"](samples)))
    assert mp3.channel == "band_limited"
    expected = 1.0 / (1.0 + np.exp(-(block.scale * mp3.score + block.offset)))
    assert mp3.probability == pytest.approx(expected, abs=1e-6)


def test_the_bundled_sidecar_carries_measured_operating_points() -> None:
    from itertools import pairwise

    from voxguard.services.engines import SpoofAdapter

    points = SpoofDetector().sidecar.operating_points
    assert [p.threshold for p in points] == sorted(p.threshold for p in points)
    # A higher threshold flags fewer genuine clips and misses more spoofs.
    assert all(a.false_alarm >= b.false_alarm and a.miss <= b.miss for a, b in pairwise(points))
    shown = SpoofAdapter(SpoofDetector()).operating_points
    assert shown is not None and "demos-loso" in shown["protocol"]
    assert len(shown["points"]) == len(points)


def test_the_front_ends_vad_frames_give_the_same_result_without_a_second_vad_run() -> None:
    vad = CountingDetector()
    detector = SpoofDetector(vad=vad)
    # another threshold for the front end: the detector thresholds the frames its own way
    front_end = AudioFrontEnd(Settings(vad_threshold=0.7), detector=vad)
    x = load_audio(shared_data("librispeech", "103-1240-0000.flac")).samples
    clip = _clip(np.concatenate([x[: 16000 * 4], np.zeros(16000), x[16000 * 4 : 16000 * 7]]))
    analyzed = front_end.analyze_clip(clip)
    assert vad.runs == 1
    reused = detector.detect_clip(clip, analyzed.vad_frames)
    assert vad.runs == 1
    assert reused == detector.detect_clip(clip)
    assert vad.runs == 2
