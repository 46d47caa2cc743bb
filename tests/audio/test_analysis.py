"""The front end runs the VAD once per clip and keeps its frame probabilities with the
analysis, for later stages that find speech with other parameters."""

from __future__ import annotations

from tests.audio.test_vad import CountingDetector
from tests.conftest import shared_data
from voxguard.audio import load_audio
from voxguard.audio.analysis import AudioFrontEnd
from voxguard.audio.vad import VadParams, segments_from_probabilities
from voxguard.config import Settings


def test_analysis_keeps_the_vad_frames_behind_its_segments() -> None:
    vad = CountingDetector()
    front_end = AudioFrontEnd(Settings(vad_threshold=0.6), detector=vad)
    clip = load_audio(shared_data("librispeech", "103-1240-0000.flac"))
    analyzed = front_end.analyze_clip(clip)
    assert vad.runs == 1
    assert analyzed.vad_frames is not None
    assert analyzed.vad_frames.model == vad.model_path
    duration_s = clip.samples.size / 16000
    expected = segments_from_probabilities(
        analyzed.vad_frames.probabilities, duration_s, VadParams(threshold=0.6)
    )
    assert analyzed.segments == expected
    assert analyzed.segments == vad.segments(clip.samples, VadParams(threshold=0.6))
