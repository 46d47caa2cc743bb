import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import shared_data
from tests.spoof.models import HEAD_FILE, OPEN_GATES, STATS_DIMS, with_classical_head
from voxguard.audio import AudioClip, load_audio
from voxguard.config import Settings
from voxguard.errors import ModelMismatch, ModelUnavailable
from voxguard.spoof import SpoofDetector
from voxguard.spoof.classical_head import HEAD_KEY, fuse, gated_probability, parse_head

OPEN = OPEN_GATES
SHUT = {"wideband": 1e9, "band_limited": 1e9, "narrowband": 1e9}


@pytest.fixture(scope="module")
def plain() -> SpoofDetector:
    return SpoofDetector()


@pytest.fixture(scope="module")
def speech() -> AudioClip:
    return load_audio(shared_data("librispeech", "103-1240-0000.flac"))


def _weights(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(STATS_DIMS).astype(np.float32) / 100


def test_noisy_or_never_lowers_either_probability() -> None:
    rng = np.random.default_rng(0)
    main, head = rng.random(1000), rng.random(1000)
    fused = fuse(main, head)
    assert np.all(fused >= main) and np.all(fused >= head) and np.all(fused <= 1.0)
    assert np.array_equal(fuse(main, np.zeros(1000)), main)


def test_the_gate_silences_the_head_below_it(tmp_path: Path) -> None:
    gates = {"wideband": 1.0, "band_limited": 2.0, "narrowband": 3.0}
    model_dir = with_classical_head(tmp_path, _weights(), 0.0, gates, scale=2.0, offset=-1.0)
    block = json.loads((model_dir / "spoof_detector.json").read_text())[HEAD_KEY]
    spec = parse_head(block, model_dir)
    assert spec is not None
    p = gated_probability(spec, np.array([0.5, 1.0, 2.5]), "wideband")
    np.testing.assert_allclose(p, [0.0, 1 / (1 + np.exp(-1.0)), 1 / (1 + np.exp(-4.0))])
    assert gated_probability(spec, 2.5, "narrowband") == 0.0


def test_a_sidecar_without_the_head_scores_as_the_main_model(
    plain: SpoofDetector, speech: AudioClip, tmp_path: Path
) -> None:
    main = SpoofDetector(classical_head=False).detect_clip(speech)
    assert main.classical_tts_probability is None
    assert main.probability == main.main_probability
    results = [plain.detect_clip(speech)] if plain.classical_head is None else []
    # The same model with the head switched off, or with a head that never passes its gate,
    # gives the main model's numbers exactly.
    model_dir = with_classical_head(tmp_path, _weights(), 0.0, SHUT)
    shut = SpoofDetector(model_dir=model_dir, classical_head=True).detect_clip(speech)
    assert shut.classical_tts_probability == 0.0
    results += [shut, SpoofDetector(model_dir=model_dir, classical_head=False).detect_clip(speech)]
    for result in results:
        assert result.probability == main.probability
        assert result.is_spoof == main.is_spoof
        assert [w.probability for w in result.windows] == [w.probability for w in main.windows]


def test_the_head_loads_scores_and_only_raises_the_probability(
    plain: SpoofDetector, speech: AudioClip, tmp_path: Path
) -> None:
    weights = _weights(1)
    model_dir = with_classical_head(tmp_path, weights, 0.5, OPEN, scale=0.7, offset=0.2)
    detector = SpoofDetector(model_dir=model_dir, classical_head=True)
    assert detector.classical_head is not None
    samples = [w for _, w in detector.speech_windows(speech)[3]]
    feeds = detector.feeds(samples)
    stats = detector.window_statistics(samples, feeds)
    expected = stats @ weights + 0.5
    logits = detector.classical_head.logits(stats)
    np.testing.assert_allclose(logits, expected, rtol=1e-4, atol=1e-4)
    result = detector.detect_clip(speech)
    base = plain.detect_clip(speech)
    head_p = 1 / (1 + np.exp(-(0.7 * float(np.mean(logits)) + 0.2)))
    assert result.classical_tts_probability == pytest.approx(head_p, rel=1e-4)
    assert result.main_probability == pytest.approx(base.probability, abs=1e-9)
    assert result.probability == pytest.approx(1 - (1 - base.probability) * (1 - head_p))
    assert result.probability >= base.probability
    assert result.is_spoof == (result.probability >= result.threshold)
    for fused, alone in zip(result.windows, base.windows, strict=True):
        assert fused.probability >= alone.probability
        assert fused.classical_tts_probability is not None


def test_a_head_file_that_does_not_match_its_block_is_refused(tmp_path: Path) -> None:
    model_dir = with_classical_head(tmp_path, _weights(), 0.0, OPEN)
    (model_dir / HEAD_FILE).write_bytes((model_dir / HEAD_FILE).read_bytes() + b"\0")
    with pytest.raises(ModelMismatch, match="does not match its sidecar block"):
        SpoofDetector(model_dir=model_dir, classical_head=True)
    (model_dir / HEAD_FILE).unlink()
    with pytest.raises(ModelUnavailable, match="classical-TTS head missing"):
        SpoofDetector(model_dir=model_dir, classical_head=True)


def test_a_head_with_other_inputs_than_its_block_names_is_refused(tmp_path: Path) -> None:
    model_dir = with_classical_head(tmp_path, np.ones(10), 0.0, OPEN, dims=10)
    sidecar = json.loads((model_dir / "spoof_detector.json").read_text())
    sidecar[HEAD_KEY]["input"]["shape"] = [None, STATS_DIMS]
    (model_dir / "spoof_detector.json").write_text(json.dumps(sidecar))
    with pytest.raises(ModelMismatch, match="takes"):
        SpoofDetector(model_dir=model_dir, classical_head=True)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("fusion", "max", "fusion"),
        ("gates", {"wideband": 1.0}, "gates must name"),
        ("input", {"name": "stats", "kind": "log_spectrogram", "shape": [None, 892]}, "kind"),
        ("calibration", {"scale": "x"}, "bad classical_tts_head"),
    ],
)
def test_a_malformed_head_block_is_named(
    tmp_path: Path, key: str, value: object, message: str
) -> None:
    model_dir = with_classical_head(tmp_path, _weights(), 0.0, OPEN)
    sidecar = json.loads((model_dir / "spoof_detector.json").read_text())
    sidecar[HEAD_KEY][key] = value
    (model_dir / "spoof_detector.json").write_text(json.dumps(sidecar))
    with pytest.raises(ModelMismatch, match=message):
        SpoofDetector(model_dir=model_dir, classical_head=True)


def test_short_speech_is_left_to_the_main_model(
    plain: SpoofDetector, speech: AudioClip, tmp_path: Path
) -> None:
    # The head was fitted on 3-6 s of speech; a clip under the short-speech limit gets no head
    # probability even with every gate open.
    model_dir = with_classical_head(tmp_path, _weights(1), 5.0, OPEN)
    detector = SpoofDetector(model_dir=model_dir, classical_head=True)
    short = replace(speech, samples=speech.samples[: int(1.5 * speech.sample_rate)])
    result = detector.detect_clip(short)
    assert result.short_speech
    assert result.classical_tts_probability is None
    assert result.probability == plain.detect_clip(short).probability
    assert all(w.classical_tts_probability is None for w in result.windows)
    assert detector.detect_clip(speech).classical_tts_probability is not None


def test_the_head_is_off_unless_the_setting_turns_it_on(tmp_path: Path) -> None:
    # Off by default: the bundled head flags most electrolaryngeal speech
    # (docs/models/experiments/2026-12-06-classical-tts-head-v2.md).
    model_dir = with_classical_head(tmp_path, _weights(), 0.0, OPEN)
    assert Settings().spoof_classical_head is False
    assert SpoofDetector(model_dir=model_dir).classical_head is None
    on = Settings(spoof_classical_head=True)
    assert SpoofDetector(model_dir=model_dir, settings=on).classical_head is not None
    assert (
        SpoofDetector(model_dir=model_dir, settings=on, classical_head=False).classical_head is None
    )
    assert SpoofDetector(model_dir=model_dir, classical_head=True).classical_head is not None
    bundled = SpoofDetector(settings=on)
    assert bundled.sidecar.classical_head is not None and bundled.classical_head is not None
