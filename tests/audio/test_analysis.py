"""The front end runs the VAD once per clip and keeps its frame probabilities with the
analysis, for later stages that find speech with other parameters."""

from __future__ import annotations

import numpy as np

from tests.audio.test_vad import CountingDetector
from tests.conftest import shared_data
from voxguard.audio import load_audio
from voxguard.audio.analysis import SPLICE_FADE_S, AudioFrontEnd, spliced
from voxguard.audio.types import AudioClip, AudioMetadata
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


def test_spliced_stretches_fade_in_and_out_so_the_joins_are_no_clicks() -> None:
    # A loud tone cut mid-cycle: joined as it is, each join is a step of up to twice its level.
    rate = 16000
    t = np.arange(rate, dtype=np.float32) / rate
    tone = (0.8 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    clip = AudioClip(tone, rate, AudioMetadata("wav", "pcm_s16le", rate, 1, 1.0, 32044))
    spans = [(0.1013, 0.3), (0.5071, 0.7), (0.9, 0.90125)]  # the last is 20 samples
    joined = spliced(clip, spans)
    sizes = [int(end * rate) - int(start * rate) for start, end in spans]
    assert joined.samples.size == sum(sizes)
    assert joined.metadata.duration_s == round(sum(sizes) / rate, 3)
    assert joined.sample_rate == rate
    fade = round(SPLICE_FADE_S * rate)
    # Around the first join the signal is near silence (each side's last and first two
    # samples are at most 2 / (fade + 1) of the tone); mid-stretch it is the tone as it was.
    at = sizes[0]
    assert np.abs(joined.samples[at - 2 : at + 2]).max() <= 0.8 * 2 / (fade + 1) + 1e-6
    middle, source = int(0.2 * rate) - int(0.1013 * rate), int(0.2 * rate)
    assert np.array_equal(joined.samples[middle - 5 : middle + 5], tone[source - 5 : source + 5])
    # A stretch shorter than two fades fades over half of itself (10 of its 20 samples).
    short = joined.samples[-20:]
    assert abs(short[0]) <= 0.8 / 11 + 1e-6 and abs(short[-1]) <= 0.8 / 11 + 1e-6
    assert np.array_equal(clip.samples, tone)
    assert spliced(clip, []).samples.size == 0
