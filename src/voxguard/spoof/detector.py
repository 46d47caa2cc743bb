"""Synthetic-speech detection: VAD speech -> 4 s windows -> ONNX window logits -> calibrated
probability for the whole file.

Aggregation: the file's score is the mean of its window logits; the calibrated probability
is ``sigmoid(scale * score + offset)`` with the logistic calibration stored in the sidecar,
and the verdict is ``spoof`` when that probability reaches the threshold of the calibration
block that scored it (``SpoofDetector.threshold_for``). When the sidecar has a classical-TTS
head (``voxguard.spoof.classical_head``), its gated probability is fused into each window's
and the file's probability, which it can only raise.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voxguard.audio import AudioClip, AudioSource, load_audio
from voxguard.audio.types import CHANNELS, Channel, FloatArray
from voxguard.audio.vad import SpeechDetector, SpeechTimeline, VadFrames, VadParams
from voxguard.config import Settings, get_settings
from voxguard.errors import AudioTooShort, ModelMismatch, ModelUnavailable, NoSpeechDetected
from voxguard.models import bundled_model_path, cpu_session, read_checked
from voxguard.spoof.classical_head import ClassicalTtsHead, fuse
from voxguard.spoof.features import (
    high_band_db,
    log_spectrogram,
    make_windows,
    power_spectrogram,
    require_librosa,
    spectral_statistics,
    speech_with_timeline,
    summary_features,
    top_band_db,
)
from voxguard.spoof.sidecar import (
    SHORT_SPEECH_BLOCK,
    BandLimitedCalibration,
    Calibration,
    NarrowbandCalibration,
    ShortSpeechCalibration,
    Sidecar,
    load_sidecar,
)

SIDECAR_NAME = "spoof_detector.json"


@dataclass(frozen=True)
class WindowScore:
    # On the recording's own time axis: where the window's first and last speech samples lie
    # (a window spans the pauses the VAD cut out between them).
    start_s: float
    end_s: float
    logit: float
    probability: float
    # The classical-TTS head's gated probability for this window (None without a head); it is
    # already fused into ``probability``.
    classical_tts_probability: float | None = None


@dataclass(frozen=True)
class SpoofResult:
    probability: float  # calibrated P(synthetic)
    is_spoof: bool
    threshold: float
    score: float  # aggregated (mean) window logit, before calibration
    speech_s: float
    used_vad: bool  # False when too little speech was found and the whole clip was used
    windows: list[WindowScore]
    # "narrowband" when the speech went through a phone line and the model's narrowband
    # calibration was applied; "band_limited" when its top band was empty (MP3 at 16 kHz, a
    # low-pass) and the model's band-limited calibration was applied; "wideband" otherwise
    # (or when the model has no calibration for the channel).
    channel: Channel = "wideband"
    # True when the speech was shorter than the model's short-speech limit and its
    # short-speech calibration gave the probability (it takes precedence over the channel's).
    short_speech: bool = False
    # The main model's calibrated probability alone, before the classical-TTS head is fused
    # in (equal to ``probability`` without a head), and the head's gated probability for the
    # file (None without a head).
    main_probability: float | None = None
    classical_tts_probability: float | None = None

    @property
    def verdict(self) -> str:
        return "spoof" if self.is_spoof else "bonafide"


def _sigmoid(x: np.ndarray | float) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64))))


def channel_of(speech: FloatArray, sample_rate: int, calibration: Calibration) -> Channel:
    """The channel whose calibration applies: "narrowband" when ``calibration`` has one for
    phone lines and the speech sounds like one (nothing above the telephone band), else
    "band_limited" when it has one for an empty top band and the speech has one, else
    "wideband"."""
    narrow, limited = calibration.narrowband, calibration.band_limited
    if narrow and high_band_db(speech, sample_rate) < narrow.below_high_band_db:
        return "narrowband"
    if limited and top_band_db(speech, sample_rate) < limited.below_top_band_db:
        return "band_limited"
    return "wideband"


def calibrated_log_odds(
    calibration: Calibration,
    score: float | np.ndarray,
    channel: Channel = "wideband",
    short_speech: bool = False,
) -> np.ndarray:
    """Log-odds of synthesis through the mapping that applies: short speech first, then the
    channel's own block, else the wideband mapping (also for a channel without a block)."""
    mapping: (
        Calibration | NarrowbandCalibration | BandLimitedCalibration | ShortSpeechCalibration
    ) = calibration
    if short_speech and calibration.short_speech:
        mapping = calibration.short_speech
    elif channel == "narrowband" and calibration.narrowband:
        mapping = calibration.narrowband
    elif channel == "band_limited" and calibration.band_limited:
        mapping = calibration.band_limited
    return np.asarray(mapping.scale * np.asarray(score) + mapping.offset)


class SpoofDetector:
    """Loads the bundled (or a given) model once; ``detect`` is safe to call from threads."""

    def __init__(
        self,
        model_dir: Path | None = None,
        settings: Settings | None = None,
        vad: SpeechDetector | None = None,
        classical_head: bool | None = None,
    ) -> None:
        """``classical_head``: use the sidecar's classical-TTS head when it has one (False
        scores with the main model alone, as benchmarks do for their baseline); None follows
        ``Settings.spoof_classical_head`` (VOXGUARD_SPOOF_CLASSICAL_HEAD, off by default)."""
        self.settings = settings or get_settings()
        directory = model_dir or bundled_model_path("spoof")
        if model_dir is not None and not (model_dir / SIDECAR_NAME).is_file():
            raise ModelUnavailable(
                f"{model_dir} holds no exported spoof model: expected {SIDECAR_NAME} and its "
                "ONNX file, as written by `make spoof-model` or "
                "`python -m voxguard.training.detector.train --out DIR`"
            )
        self.sidecar: Sidecar = load_sidecar(directory / SIDECAR_NAME)
        model_path = directory / self.sidecar.model_file
        self.model_path = model_path
        model_bytes = read_checked(model_path, self.sidecar.sha256, "spoof model")
        self._session = cpu_session(model_bytes, self.settings.inference_threads)
        graph_inputs = sorted(i.name for i in self._session.get_inputs())
        named = sorted(i.name for i in self.sidecar.inputs)
        if graph_inputs != named:
            raise ModelMismatch(f"spoof model has inputs {graph_inputs}; sidecar names {named}")
        if any(i.kind == "summary_features" for i in self.sidecar.inputs):
            require_librosa()
        self._vad = vad or SpeechDetector(threads=self.settings.inference_threads)
        spec = self.sidecar.classical_head
        self.classical_head = (
            ClassicalTtsHead(spec, directory, self.settings.inference_threads)
            if spec is not None
            and (self.settings.spoof_classical_head if classical_head is None else classical_head)
            else None
        )
        self.params = self.sidecar.features
        # The default decision threshold (blocks without their own).
        self.threshold = self.settings.spoof_threshold_for(self.sidecar.threshold)

    def threshold_for(self, channel: Channel, short_speech: bool = False) -> float:
        """The decision threshold for a clip scored by this channel's block:
        VOXGUARD_SPOOF_THRESHOLD when it is set, else the block's own threshold from the
        sidecar (set from a false-alarm target on genuine speech through its channels), else
        the sidecar's ``threshold``. Short speech, on any channel, has a block of its own
        (``short_speech``)."""
        own = self.sidecar.thresholds.get(SHORT_SPEECH_BLOCK if short_speech else channel)
        return self.threshold if own is None else self.settings.spoof_threshold_for(own)

    def thresholds_by_block(self) -> dict[str, float]:
        """The verdict threshold ``threshold_for`` applies to each channel's block and to
        short speech (``short_speech``, on any channel)."""
        by_channel = {channel: self.threshold_for(channel) for channel in CHANNELS}
        return by_channel | {SHORT_SPEECH_BLOCK: self.threshold_for("wideband", short_speech=True)}

    def window_logits(self, windows: list[FloatArray]) -> FloatArray:
        """Raw model logits for fixed-length windows of 16 kHz audio."""
        if not windows:
            return np.zeros(0, np.float32)
        return self.main_logits(self.feeds(windows))

    def main_logits(self, feeds: dict[str, FloatArray]) -> FloatArray:
        """The main model's window logits for inputs made by ``feeds``."""
        (out,) = self._session.run([self.sidecar.output_name], feeds)
        return np.asarray(out, dtype=np.float32).reshape(-1)

    def window_statistics(
        self, windows: list[FloatArray], feeds: dict[str, FloatArray]
    ) -> FloatArray:
        """The spectral statistics of each window: the main model's own input when it takes
        them (computed once), else computed here."""
        for model_input in self.sidecar.inputs:
            if model_input.kind == "spectral_statistics":
                return feeds[model_input.name]
        specs = [log_spectrogram(w, self.params) for w in windows]
        return np.stack([spectral_statistics(s) for s in specs]).astype(np.float32)

    def feeds(self, windows: list[FloatArray]) -> dict[str, FloatArray]:
        """The model's inputs, by graph input name, for fixed-length windows (retraining
        featurises with exactly these)."""
        kinds = {i.kind for i in self.sidecar.inputs}
        batches: dict[str, FloatArray] = {}
        if kinds & {"log_spectrogram", "spectral_statistics"}:
            specs = np.stack([log_spectrogram(w, self.params) for w in windows])
            batches["log_spectrogram"] = specs
            if "spectral_statistics" in kinds:
                batches["spectral_statistics"] = np.stack([spectral_statistics(s) for s in specs])
        if "power_spectrogram" in kinds:
            batches["power_spectrogram"] = np.stack(
                [power_spectrogram(w, self.params) for w in windows]
            )
        if "summary_features" in kinds:
            batches["summary_features"] = np.stack(
                [summary_features(w, self.params) for w in windows]
            )
        return {i.name: batches[i.kind].astype(np.float32) for i in self.sidecar.inputs}

    def channel_of(self, speech: FloatArray) -> Channel:
        """The channel whose calibration applies to this speech (``channel_of``)."""
        return channel_of(speech, self.params.sample_rate, self.sidecar.calibration)

    def is_short(self, speech_s: float) -> bool:
        """True when the model has a short-speech calibration and the speech is under its limit."""
        short = self.sidecar.calibration.short_speech
        return short is not None and speech_s < short.below_speech_s

    def log_odds(
        self,
        score: float | np.ndarray,
        channel: Channel = "wideband",
        short_speech: bool = False,
    ) -> np.ndarray:
        """Calibrated log-odds of synthesis at equal priors (a log-likelihood ratio)."""
        return calibrated_log_odds(self.sidecar.calibration, score, channel, short_speech)

    def calibrate(
        self,
        score: float | np.ndarray,
        channel: Channel = "wideband",
        short_speech: bool = False,
    ) -> np.ndarray:
        return _sigmoid(self.log_odds(score, channel, short_speech))

    def speech_windows(
        self, clip: AudioClip, vad_frames: VadFrames | None = None
    ) -> tuple[FloatArray, bool, SpeechTimeline, list[tuple[float, FloatArray]]]:
        """The clip's speech (VAD), whether the VAD was used, its timeline, and the model's
        windows over it as (start_s, samples); no windows when the speech is too short.
        ``vad_frames``: the clip's VAD probabilities, when the front end has them already."""
        samples = clip.samples
        segments = self._vad.segments(samples, VadParams(), vad_frames)
        speech, used_vad, timeline = speech_with_timeline(samples, segments, self.params)
        return speech, used_vad, timeline, make_windows(speech.astype(np.float32), self.params)

    def detect_clip(self, clip: AudioClip, vad_frames: VadFrames | None = None) -> SpoofResult:
        speech, used_vad, timeline, windows = self.speech_windows(clip, vad_frames)
        if not windows:
            found_s = speech.size / self.params.sample_rate
            if found_s == 0.0:
                raise NoSpeechDetected(
                    "No speech or other sound was found in the recording (it is silent); "
                    f"synthetic-speech detection needs at least {self.params.min_speech_s:.1f} s "
                    "of speech."
                )
            raise AudioTooShort(
                f"need at least {self.params.min_speech_s:.1f} s of speech to detect synthetic "
                f"speech; the recording has {found_s:.2f} s",
                speech_s=round(found_s, 3),
            )
        samples = [w for _, w in windows]
        feeds = self.feeds(samples)
        logits = self.main_logits(feeds)
        score = float(np.mean(logits))
        channel = self.channel_of(speech)
        speech_s = speech.size / self.params.sample_rate
        short = self.is_short(speech_s)
        main_probability = float(self.calibrate(score, channel, short))
        win_probs = self.calibrate(logits, channel, short)
        probability, head_probability = main_probability, None
        win_heads: list[float | None] = [None] * len(windows)
        # The head was fitted on 3-6 s of speech; short speech, tiled to fill its windows, is
        # left to the main model (docs/models/experiments/2026-12-06-classical-tts-head-v2.md).
        if self.classical_head is not None and not short:
            head_logits = self.classical_head.logits(self.window_statistics(samples, feeds))
            head_probability = float(
                self.classical_head.probability(float(np.mean(head_logits)), channel)
            )
            probability = float(fuse(main_probability, head_probability))
            win_head_probs = self.classical_head.probability(head_logits, channel)
            win_probs = fuse(win_probs, win_head_probs)
            win_heads = [float(p) for p in win_head_probs]
        threshold = self.threshold_for(channel, short)
        return SpoofResult(
            probability=probability,
            is_spoof=probability >= threshold,
            threshold=threshold,
            score=score,
            speech_s=round(speech_s, 3),
            used_vad=used_vad,
            channel=channel,
            short_speech=short,
            main_probability=main_probability,
            classical_tts_probability=head_probability,
            windows=[
                WindowScore(
                    start_s=round(span[0], 3),
                    end_s=round(span[1], 3),
                    logit=float(lg),
                    probability=float(p),
                    classical_tts_probability=head,
                )
                for span, lg, p, head in zip(
                    self._spans(windows, speech.size, timeline),
                    logits,
                    win_probs,
                    win_heads,
                    strict=True,
                )
            ],
        )

    def _spans(
        self, windows: list[tuple[float, FloatArray]], speech_size: int, timeline: SpeechTimeline
    ) -> list[tuple[float, float]]:
        """Each window's (start, end) in the recording; a short clip's one (repeated) window
        spans all of its speech."""
        spans = []
        for start_s, _ in windows:
            start = round(start_s * self.params.sample_rate)
            end = min(start + self.params.window_samples, speech_size)
            spans.append(timeline.original_span_s(start, end))
        return spans

    def detect(self, source: AudioSource) -> SpoofResult:
        return self.detect_clip(load_audio(source, self.settings))
