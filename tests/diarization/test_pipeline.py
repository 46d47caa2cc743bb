"""The diarizer on conversations composed from LibriSpeech readers (real models)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from tests.api.audio import wav
from tests.diarization.conversation import frame_accuracy, readers
from voxguard.diarization import Turn
from voxguard.diarization.overlap import ACOUSTIC_FEATURES
from voxguard.diarization.pipeline import DiarizationParams, Diarizer, Windows


@pytest.fixture(scope="module")
def diarizer() -> Diarizer:
    return Diarizer()


@pytest.mark.parametrize("speakers", [2, 3])
def test_who_spoke_when(diarizer: Diarizer, speakers: int) -> None:
    conversation = readers(speakers, turn_s=4.0)
    result = diarizer.diarize(wav(conversation.samples))
    assert len(result.speakers) == speakers
    duration = conversation.samples.size / 16000
    assert frame_accuracy(conversation.reference, result.turns, duration) > 0.85
    # On the recording's own time axis, in order, inside the file.
    starts = [t.start_s for t in result.turns]
    assert starts == sorted(starts) and starts[0] >= 0 and result.turns[-1].end_s <= duration + 0.01
    assert set(result.centroids) == set(result.speakers)


def test_one_voice_is_one_speaker_and_silence_is_nobody(diarizer: Diarizer) -> None:
    conversation = readers(1)
    assert diarizer.diarize(wav(conversation.samples)).speakers == ["S1"]
    assert diarizer.diarize(wav(np.zeros(16000 * 3, np.float32))).turns == []


def test_a_known_number_of_speakers_is_used(diarizer: Diarizer) -> None:
    conversation = readers(2)
    assert len(diarizer.diarize(wav(conversation.samples), num_speakers=2).speakers) == 2


def _windows(directions: list[tuple[int, int, np.ndarray]], frames: int) -> Windows:
    """Windows every 0.25 s over ``frames`` of speech, each embedding the direction of the
    stretch (first frame, stop frame, unit vector) that holds its centre, plus a little noise."""
    rng = np.random.default_rng(0)
    starts = np.arange(0, frames - 160 + 1, 25)
    rows = []
    for start in starts:
        centre = start + 80
        direction = next(d for first, stop, d in directions if first <= centre < stop)
        row = direction + 0.05 * rng.normal(size=direction.size)
        rows.append(row / np.linalg.norm(row))
    return Windows(
        speech=np.ones(frames, bool),
        starts=starts,
        embeddings=np.asarray(rows, np.float32),
        hop_s=0.01,
        duration_s=frames / 100,
        acoustic=np.zeros((frames, len(ACOUSTIC_FEATURES)), np.float32),
    )


def _axis(index: int) -> np.ndarray:
    vector = np.zeros(256)
    vector[index] = 1.0
    return vector


def _heard(turns: list[Turn], frames: int) -> np.ndarray:
    heard = np.zeros(frames, bool)
    for turn in turns:
        heard[round(turn.start_s * 100) : round(turn.end_s * 100)] = True
    return heard


class _Crowd:
    """A stand-in background detector: frames 1200-1500 are the crowd."""

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        out = np.zeros(features.shape[0], np.float32)
        out[1200:1500] = 0.9
        return out


def test_frames_the_background_detector_flags_are_nobodys(diarizer: Diarizer) -> None:
    windows = _windows([(0, 1000, _axis(0)), (1000, 3000, _axis(1))], 3000)
    params = replace(DiarizationParams(), overlap_threshold=None, background_threshold=None)
    kept = Diarizer(encoder=diarizer.encoder, front_end=diarizer.front_end, params=params)
    assert kept.background_detector is None
    assert _heard(kept.segment(windows).turns, 3000)[1200:1500].all()
    dropped = Diarizer(
        encoder=diarizer.encoder,
        front_end=diarizer.front_end,
        params=replace(params, background_threshold=0.5),
        background_detector=_Crowd(),  # type: ignore[arg-type]
    )
    heard = _heard(dropped.segment(windows).turns, 3000)
    assert not heard[1200:1500].any()
    assert heard[:1200].mean() > 0.95 and heard[1500:].mean() > 0.95
    # At 0.95 the same probabilities drop nothing.
    strict = replace(dropped.params, background_threshold=0.95)
    kept_again = Diarizer(
        encoder=diarizer.encoder,
        front_end=diarizer.front_end,
        params=strict,
        background_detector=_Crowd(),  # type: ignore[arg-type]
    )
    assert _heard(kept_again.segment(windows).turns, 3000)[1200:1500].all()


def test_frames_that_resemble_no_speaker_are_dropped(diarizer: Diarizer) -> None:
    # Two speakers, and 6 s in the middle that sound like neither of them.
    stretches = [(0, 1000, _axis(0)), (1000, 2000, _axis(1)), (2000, 2600, _axis(2))]
    windows = _windows([*stretches, (2600, 3600, _axis(0))], 3600)
    params = replace(DiarizationParams(), overlap_threshold=None, background_threshold=None)
    plain = Diarizer(encoder=diarizer.encoder, front_end=diarizer.front_end, params=params)
    assert _heard(plain.segment(windows, num_speakers=2).turns, 3600)[2200:2400].all()
    strict = Diarizer(
        encoder=diarizer.encoder,
        front_end=diarizer.front_end,
        params=replace(params, min_speaker_similarity=0.5),
    )
    heard = _heard(strict.segment(windows, num_speakers=2).turns, 3600)
    assert not heard[2200:2400].any()
    assert heard[:1900].mean() > 0.95 and heard[2700:].mean() > 0.95


def test_the_background_detector_is_on_by_default(diarizer: Diarizer) -> None:
    # 0.8: docs/diarization-eval.md, Round 4; the similarity floor did nothing there, so off.
    params = DiarizationParams()
    assert params.background_threshold == 0.8 and params.min_speaker_similarity is None
    assert diarizer.background_detector is not None
