"""``SpoofAdapter`` hands the detector the front end's VAD frames with the clip."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from tests.doubles import FixedSpoofDetector
from voxguard.audio import AudioClip, AudioMetadata
from voxguard.audio.analysis import AnalyzedAudio
from voxguard.audio.quality import QualityReport
from voxguard.audio.vad import VadFrames
from voxguard.services.engines import SpoofAdapter


class RecordingDetector(FixedSpoofDetector):
    def __init__(self) -> None:
        super().__init__(0.25)
        self.seen: list[tuple[AudioClip, VadFrames | None]] = []

    def detect_clip(self, clip: AudioClip, vad_frames: VadFrames | None = None) -> Any:
        self.seen.append((clip, vad_frames))
        return super().detect_clip(clip, vad_frames)


def test_the_adapter_passes_the_analyzed_clips_vad_frames() -> None:
    samples = np.zeros(16000, dtype=np.float32)
    clip = AudioClip(samples, 16000, AudioMetadata("wav", "pcm_s16le", 16000, 1, 1.0, 32000))
    frames = VadFrames(Path("vad.onnx"), np.zeros(32, dtype=np.float32))
    quality = QualityReport(1.0, 0.0, 0.0, -90.0, 0.0, 8000.0)
    detector = RecordingDetector()
    verdict = SpoofAdapter(detector).detect(AnalyzedAudio(clip, [], quality, frames))
    assert detector.seen == [(clip, frames)]
    assert verdict.probability == 0.25


def test_the_adapter_reports_the_detectors_threshold_per_channel() -> None:
    class PerChannel(FixedSpoofDetector):
        def thresholds_by_block(self) -> dict[str, float]:
            return {"wideband": 0.7, "narrowband": 0.5, "band_limited": 0.8, "short_speech": 0.9}

    assert SpoofAdapter(PerChannel(0.1)).channel_thresholds == {
        "wideband": 0.7,
        "narrowband": 0.5,
        "band_limited": 0.8,
        "short_speech": 0.9,
    }
    assert SpoofAdapter(FixedSpoofDetector(0.1)).channel_thresholds == {}  # no such method
