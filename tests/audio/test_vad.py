"""The VAD's frame probabilities, computed once, give every caller the segments a fresh run
would: the spoof detector re-thresholds the front end's instead of running the model again."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.conftest import shared_data
from voxguard.audio import load_audio
from voxguard.audio.types import FloatArray
from voxguard.audio.vad import SpeechDetector, VadFrames, VadParams


class CountingDetector(SpeechDetector):
    """The bundled VAD, counting its model runs."""

    def __init__(self) -> None:
        super().__init__()
        self.runs = 0

    def frame_probabilities(self, samples: FloatArray) -> FloatArray:
        self.runs += 1
        return super().frame_probabilities(samples)


@pytest.fixture(scope="module")
def samples() -> FloatArray:
    clip = load_audio(shared_data("librispeech", "103-1240-0000.flac")).samples
    # a pause in the middle, so that the thresholds below find different segments
    return np.concatenate([clip[: 16000 * 3], np.zeros(16000), clip[16000 * 3 : 16000 * 6]])


@pytest.mark.parametrize("threshold", [0.3, 0.5, 0.8])
def test_segments_from_given_frames_are_those_of_a_fresh_run(
    samples: FloatArray, threshold: float
) -> None:
    detector = CountingDetector()
    frames = detector.frames(samples)
    params = VadParams(threshold=threshold)
    assert detector.segments(samples, params, frames) == detector.segments(samples, params)
    assert detector.runs == 2  # frames(), then the fresh run; none for the reuse


def test_frames_of_another_model_are_not_reused(samples: FloatArray) -> None:
    detector = CountingDetector()
    own = detector.frames(samples)
    foreign = VadFrames(Path("another_vad.onnx"), np.ones_like(own.probabilities))
    assert detector.segments(samples, VadParams(), foreign) == detector.segments(
        samples, VadParams(), own
    )
    assert detector.runs == 2  # frames(), then the run that replaced the foreign frames
