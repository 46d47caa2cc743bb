"""Voice activity detection with the bundled Silero VAD model (MIT), run by onnxruntime.

We ship Silero's "sequence" export: one ONNX call scores up to 512 frames of 32 ms, so a
4 s clip costs one call instead of 125 (the streaming export's per-frame Python loop).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from voxguard.audio.decode import TARGET_SAMPLE_RATE
from voxguard.audio.types import FloatArray
from voxguard.errors import ModelUnavailable
from voxguard.models import bundled_model_path, cpu_session

FRAME_SAMPLES = 512  # 32 ms at 16 kHz
_CONTEXT_SAMPLES = 64
_MAX_FRAMES_PER_CALL = 512
_STATE_SHAPE = (1, 1, 128)
FRAME_SECONDS = FRAME_SAMPLES / TARGET_SAMPLE_RATE


@dataclass(frozen=True)
class SpeechSegment:
    start_s: float
    end_s: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True)
class VadParams:
    threshold: float = 0.5
    min_speech_s: float = 0.25
    min_silence_s: float = 0.1
    pad_s: float = 0.03


@dataclass(frozen=True)
class VadFrames:
    """A clip's frame probabilities (``SpeechDetector.frame_probabilities``) and the model
    that gave them: a later stage that finds speech in the same clip with other parameters
    (the spoof detector) thresholds these again instead of running the model a second time."""

    model: Path
    probabilities: FloatArray


class SpeechDetector:
    """Finds speech in 16 kHz mono audio."""

    def __init__(self, model_path: Path | None = None, threads: int = 1) -> None:
        path = model_path or bundled_model_path("silero_vad", "silero_vad_16k_sequence.onnx")
        if not path.is_file():
            raise ModelUnavailable(f"Silero VAD model missing at {path}; reinstall voxguard.")
        self.model_path = path
        self._session = cpu_session(path, threads)

    def frames(self, samples: FloatArray) -> VadFrames:
        return VadFrames(self.model_path, self.frame_probabilities(samples))

    def frame_probabilities(self, samples: FloatArray) -> FloatArray:
        """Speech probability of each 32 ms frame."""
        n_frames = (samples.size + FRAME_SAMPLES - 1) // FRAME_SAMPLES
        if n_frames == 0:
            return np.zeros(0, dtype=np.float32)
        frames = np.zeros((n_frames, FRAME_SAMPLES), dtype=np.float32)
        frames.reshape(-1)[: samples.size] = samples
        # Each frame is prefixed with the last 64 samples of the previous one, as in streaming.
        context = np.zeros((n_frames, _CONTEXT_SAMPLES), dtype=np.float32)
        context[1:] = frames[:-1, -_CONTEXT_SAMPLES:]
        blocks = np.concatenate((context, frames), axis=1)
        hidden = np.zeros(_STATE_SHAPE, dtype=np.float32)
        cell = np.zeros(_STATE_SHAPE, dtype=np.float32)
        probabilities: list[FloatArray] = []
        for start in range(0, n_frames, _MAX_FRAMES_PER_CALL):
            block = blocks[start : start + _MAX_FRAMES_PER_CALL]
            probs, hidden, cell = self._session.run(
                ["speech_probs", "hn", "cn"], {"input": block, "h": hidden, "c": cell}
            )
            probabilities.append(np.asarray(probs, dtype=np.float32).reshape(-1))
        return np.concatenate(probabilities)

    def segments(
        self,
        samples: FloatArray,
        params: VadParams | None = None,
        frames: VadFrames | None = None,
    ) -> list[SpeechSegment]:
        """Speech in ``samples``; ``frames``: their probabilities, already computed (used when
        this detector's model computed them)."""
        if frames is None or frames.model != self.model_path:
            frames = self.frames(samples)
        return segments_from_probabilities(
            frames.probabilities, samples.size / TARGET_SAMPLE_RATE, params
        )


def segments_from_probabilities(
    probabilities: FloatArray, duration_s: float, params: VadParams | None = None
) -> list[SpeechSegment]:
    """Hysteresis over frame probabilities, then merge short gaps and drop short blips."""
    params = params or VadParams()
    on = params.threshold
    off = max(on - 0.15, 0.01)
    raw: list[tuple[int, int]] = []
    start: int | None = None
    for index, p in enumerate(probabilities):
        if start is None and p >= on:
            start = index
        elif start is not None and p < off:
            raw.append((start, index))
            start = None
    if start is not None:
        raw.append((start, len(probabilities)))

    merged: list[list[float]] = []
    for first, last in raw:
        begin, end = first * FRAME_SECONDS, last * FRAME_SECONDS
        if merged and begin - merged[-1][1] < params.min_silence_s:
            merged[-1][1] = end
        else:
            merged.append([begin, end])
    return [
        SpeechSegment(max(0.0, b - params.pad_s), min(duration_s, e + params.pad_s))
        for b, e in merged
        if e - b >= params.min_speech_s
    ]


@dataclass(frozen=True)
class SpeechTimeline:
    """Where each stretch of concatenated speech came from in the original recording, so a
    position in the speech (a detector window, say) can be shown on the recording's own time
    axis. Pieces are (offset in the speech, offset in the original), in samples, ascending."""

    speech_starts: npt.NDArray[np.int64]
    original_starts: npt.NDArray[np.int64]
    sample_rate: int = TARGET_SAMPLE_RATE

    @classmethod
    def of_segments(cls, segments: list[SpeechSegment]) -> SpeechTimeline:
        """The timeline of ``speech_only(samples, segments)``."""
        starts = [int(s.start_s * TARGET_SAMPLE_RATE) for s in segments]
        lengths = [
            int(s.end_s * TARGET_SAMPLE_RATE) - a for s, a in zip(segments, starts, strict=True)
        ]
        offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]) if starts else np.zeros(0)
        return cls(np.asarray(offsets, dtype=np.int64), np.asarray(starts, dtype=np.int64))

    @classmethod
    def of_mask(cls, keep: npt.NDArray[np.bool_]) -> SpeechTimeline:
        """The timeline of ``samples[keep]``: one piece per run of kept samples."""
        edges = np.diff(np.concatenate([[0], keep.astype(np.int8), [0]]))
        run_starts = np.flatnonzero(edges == 1)
        run_ends = np.flatnonzero(edges == -1)
        offsets = np.concatenate([[0], np.cumsum(run_ends - run_starts)[:-1]])
        return cls(offsets.astype(np.int64)[: run_starts.size], run_starts.astype(np.int64))

    def original_s(self, speech_sample: int) -> float:
        """The time in the recording (s) of a sample position in the concatenated speech."""
        if self.speech_starts.size == 0:
            return speech_sample / self.sample_rate
        piece = max(0, int(np.searchsorted(self.speech_starts, speech_sample, "right")) - 1)
        position = self.original_starts[piece] + speech_sample - self.speech_starts[piece]
        return float(position) / self.sample_rate

    def original_span_s(self, start: int, end: int) -> tuple[float, float]:
        """The recording's (start, end) in seconds of the speech samples ``[start, end)``."""
        return self.original_s(start), self.original_s(max(start, end - 1)) + 1 / self.sample_rate


def speech_only(samples: FloatArray, segments: list[SpeechSegment]) -> FloatArray:
    """The samples inside ``segments``, concatenated."""
    if not segments:
        return np.zeros(0, dtype=np.float32)
    pieces = [
        samples[int(s.start_s * TARGET_SAMPLE_RATE) : int(s.end_s * TARGET_SAMPLE_RATE)]
        for s in segments
    ]
    return np.concatenate(pieces).astype(np.float32, copy=False)
