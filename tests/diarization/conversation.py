"""A small conversation built from the shared speech, with its reference turns."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tests.conftest import shared_data
from voxguard.audio import load_audio
from voxguard.diarization import Turn

RATE = 16000


@dataclass(frozen=True)
class Conversation:
    samples: np.ndarray
    reference: list[Turn]


def _longest_readers(count: int) -> list[np.ndarray]:
    files = sorted(shared_data("librispeech").glob("*.flac"), key=lambda p: -p.stat().st_size)
    return [load_audio(f).samples for f in files[:count]]


def alternating(
    voices: list[np.ndarray], turn_s: float = 4.0, pause_s: float = 0.6
) -> Conversation:
    """Voices take turns of ``turn_s`` (from their own recordings, in order) until one runs out."""
    parts, reference, t = [], [], 0.0
    cursor = [0] * len(voices)
    step, gap = int(turn_s * RATE), np.zeros(int(pause_s * RATE), np.float32)
    while True:
        for index, voice in enumerate(voices):
            piece = voice[cursor[index] : cursor[index] + step]
            if piece.size < step // 2:
                return Conversation(np.concatenate(parts), reference)
            cursor[index] += step
            reference.append(Turn(t, t + piece.size / RATE, f"R{index + 1}"))
            parts += [0.3 * piece / max(float(np.abs(piece).max()), 1e-6), gap]
            t += (piece.size + gap.size) / RATE


def readers(count: int, **kwargs: float) -> Conversation:
    return alternating(_longest_readers(count), **kwargs)


def frame_accuracy(reference: list[Turn], hypothesis: list[Turn], duration_s: float) -> float:
    """Share of reference speech frames (10 ms) whose speaker the hypothesis gets right,
    under the best one-to-one mapping of labels (overlap-free references only)."""
    from scipy.optimize import linear_sum_assignment

    n = int(duration_s * 100) + 1

    def grid(turns: list[Turn]) -> tuple[np.ndarray, list[str]]:
        labels = sorted({t.speaker for t in turns})
        out = np.full(n, -1)
        for t in turns:
            out[int(t.start_s * 100) : int(t.end_s * 100)] = labels.index(t.speaker)
        return out, labels

    ref, ref_labels = grid(reference)
    hyp, hyp_labels = grid(hypothesis)
    counts = np.array(
        [
            [np.sum((ref == r) & (hyp == h)) for h in range(len(hyp_labels))]
            for r in range(len(ref_labels))
        ]
    )
    rows, cols = linear_sum_assignment(-counts)
    return float(counts[rows, cols].sum() / max(int(np.sum(ref >= 0)), 1))


def human_and_tts() -> tuple[bytes, bytes]:
    """(enrollment of a reader, a conversation of that reader with a TTS voice).

    The TTS turns are MelGAN text-to-speech from a public demo page (shared data/demos).
    """
    from tests.api.audio import wav

    human = _longest_readers(1)[0]
    half = human.size // 2
    tts = [
        load_audio(path).samples
        for path in sorted(
            shared_data("demos", "wav", "melgan").glob("assets_tts_samples_linda_*.wav")
        )
    ][:4]
    conversation = alternating([human[half:], np.concatenate(tts)], turn_s=5.0)
    return wav(human[:half]), wav(conversation.samples)
