"""The diarizer on conversations composed from LibriSpeech readers (real models)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.api.audio import wav
from tests.diarization.conversation import frame_accuracy, readers
from voxguard.diarization.pipeline import Diarizer


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
