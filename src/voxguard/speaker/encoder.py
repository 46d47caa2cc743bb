"""GE2E speaker encoder run by onnxruntime: speech samples -> L2-normalised d-vector.

Mirrors Resemblyzer's ``embed_utterance``: volume normalised to -30 dBFS (increase only),
power mel frames, partial windows of 160 frames (1.6 s) every ``1 / rate`` seconds, one
embedding per window, mean, L2 norm. The model and its sidecar are validated at load.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from voxguard.audio.types import FloatArray
from voxguard.errors import ModelMismatch
from voxguard.models import bundled_model_path, check_sha256, cpu_session, read_model_files
from voxguard.speaker.features import MelConfig, mel_spectrogram_chunked

_INT16_MAX = 2**15 - 1
# Windows per onnxruntime call: bounds memory for 10-minute inputs, amortises call overhead.
_BATCH = 32


@dataclass(frozen=True)
class EncoderSpec:
    """What the sidecar promises about the model; checked against the ONNX graph at load."""

    model_version: str
    sample_rate: int
    n_fft: int
    hop_length: int
    n_mels: int
    partial_frames: int
    partial_rate_hz: float
    min_coverage: float
    norm_target_dbfs: float
    embedding_size: int
    onnx_sha256: str

    @classmethod
    def from_sidecar(cls, data: dict[str, Any]) -> EncoderSpec:
        try:
            return cls(
                model_version=str(data["model_version"]),
                sample_rate=int(data["sample_rate"]),
                n_fft=int(data["n_fft"]),
                hop_length=int(data["hop_length"]),
                n_mels=int(data["n_mels"]),
                partial_frames=int(data["partial_frames"]),
                partial_rate_hz=float(data["partial_rate_hz"]),
                min_coverage=float(data["min_coverage"]),
                norm_target_dbfs=float(data["audio_norm_target_dbfs"]),
                embedding_size=int(data["embedding_size"]),
                onnx_sha256=str(data["onnx_sha256"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelMismatch(f"GE2E sidecar is incomplete or malformed: {exc}") from exc


def partial_slices(
    n_samples: int, partial_frames: int, hop: int, frame_step: int, min_coverage: float
) -> list[slice]:
    """Mel-frame windows as Resemblyzer's ``compute_partial_slices`` (always at least one)."""
    n_frames = int(np.ceil((n_samples + 1) / hop))
    steps = max(1, n_frames - partial_frames + frame_step + 1)
    slices = [slice(i, i + partial_frames) for i in range(0, steps, frame_step)]
    last_start = slices[-1].start * hop
    coverage = (n_samples - last_start) / (partial_frames * hop)
    if coverage < min_coverage and len(slices) > 1:
        slices = slices[:-1]
    return slices


def volume_gain(rms: float, target_dbfs: float) -> float:
    """Amplitude gain that raises a level of ``rms`` (full scale 1.0) to ``target_dbfs``.

    1.0 when the level is already at or above the target (Resemblyzer only increases) or
    when there is no signal at all.
    """
    if rms <= 0:
        return 1.0
    change = target_dbfs - 20 * np.log10(rms)
    return 1.0 if change < 0 else float(10 ** (change / 20))


def normalize_volume(samples: FloatArray, target_dbfs: float) -> FloatArray:
    """Raise the level to ``target_dbfs`` (never lower it), as Resemblyzer's preprocessing."""
    rms = float(np.sqrt(np.mean(np.square(samples * _INT16_MAX, dtype=np.float64))))
    gain = volume_gain(rms / _INT16_MAX, target_dbfs)
    if gain == 1.0:
        return samples
    return (samples * np.float32(gain)).astype(np.float32)


class Ge2eEncoder:
    """Loads ``models/ge2e`` once; thread-safe (one onnxruntime session)."""

    name = "ge2e"

    def __init__(self, model_dir: Path | None = None, threads: int = 1) -> None:
        model_dir = model_dir or bundled_model_path("ge2e")
        onnx_path, sidecar_path = model_dir / "ge2e.onnx", model_dir / "ge2e.json"
        sidecar, model_bytes = read_model_files(
            onnx_path,
            sidecar_path,
            "GE2E",
            f"GE2E model missing in {model_dir}: run scripts/export_ge2e.py or reinstall.",
        )
        self.spec = EncoderSpec.from_sidecar(sidecar)
        check_sha256(model_bytes, self.spec.onnx_sha256, onnx_path)
        self._session = cpu_session(model_bytes, threads)
        self._check_graph()
        self.mel_config = MelConfig(
            sample_rate=self.spec.sample_rate,
            n_fft=self.spec.n_fft,
            hop_length=self.spec.hop_length,
            n_mels=self.spec.n_mels,
        )

    def _check_graph(self) -> None:
        inputs, outputs = self._session.get_inputs(), self._session.get_outputs()
        if len(inputs) != 1 or inputs[0].name != "mels" or inputs[0].shape[2] != self.spec.n_mels:
            raise ModelMismatch("GE2E ONNX input is not (batch, frames, n_mels) named 'mels'.")
        if outputs[0].name != "embeddings" or outputs[0].shape[1] != self.spec.embedding_size:
            raise ModelMismatch("GE2E ONNX output does not match the sidecar's embedding_size.")

    @property
    def model_version(self) -> str:
        return self.spec.model_version

    @property
    def embedding_size(self) -> int:
        return self.spec.embedding_size

    def frame_step(self, rate_hz: float | None = None) -> int:
        rate = rate_hz or self.spec.partial_rate_hz
        step = int(np.round(self.spec.sample_rate / rate / self.spec.hop_length))
        return int(np.clip(step, 1, self.spec.partial_frames))

    def embed_mels(self, mels: FloatArray) -> FloatArray:
        """Embeddings of a batch of mel windows, shape (batch, frames, n_mels) -> (batch, dim)."""
        out = self._session.run(["embeddings"], {"mels": np.ascontiguousarray(mels)})[0]
        return np.asarray(out, dtype=np.float32)

    def _slices(self, n_samples: int, rate_hz: float | None) -> list[slice]:
        spec = self.spec
        return partial_slices(
            n_samples,
            spec.partial_frames,
            spec.hop_length,
            self.frame_step(rate_hz),
            spec.min_coverage,
        )

    def _embed_windows(self, mel: FloatArray, slices: list[slice]) -> FloatArray:
        pieces = []
        for first in range(0, len(slices), _BATCH):
            batch = np.stack([mel[s] for s in slices[first : first + _BATCH]])
            pieces.append(self.embed_mels(batch))
        return np.concatenate(pieces)

    def partial_embeddings(self, samples: FloatArray, rate_hz: float | None = None) -> FloatArray:
        """One embedding per partial window of already speech-only, 16 kHz samples."""
        spec = self.spec
        samples = normalize_volume(np.asarray(samples, dtype=np.float32), spec.norm_target_dbfs)
        slices = self._slices(samples.size, rate_hz)
        needed = slices[-1].stop * spec.hop_length
        if needed > samples.size:
            samples = np.pad(samples, (0, needed - samples.size))
        return self._embed_windows(mel_spectrogram_chunked(samples, self.mel_config), slices)

    def partial_embeddings_mel(self, mel: FloatArray, rate_hz: float | None = None) -> FloatArray:
        """One embedding per partial window of speech-only, volume-normalised mel frames.

        ``mel`` (frames, n_mels) stands for ``(frames - 1) * hop`` samples, the length whose
        centred mel has that many frames, so the windows fall as :meth:`partial_embeddings`
        puts them; frames the last window lacks are silence (zeros), as the padding there.
        """
        mel = np.asarray(mel, dtype=np.float32)
        if mel.ndim != 2 or mel.shape[1] != self.spec.n_mels or mel.shape[0] == 0:
            raise ValueError(f"mel must be (frames >= 1, {self.spec.n_mels}), not {mel.shape}.")
        slices = self._slices((mel.shape[0] - 1) * self.spec.hop_length, rate_hz)
        needed = slices[-1].stop
        if needed > mel.shape[0]:
            mel = np.pad(mel, ((0, needed - mel.shape[0]), (0, 0)))
        return self._embed_windows(mel, slices)

    def embed(self, samples: FloatArray, rate_hz: float | None = None) -> FloatArray:
        """Utterance embedding: L2-normalised mean of the partial embeddings."""
        return _pool(self.partial_embeddings(samples, rate_hz))

    def embed_mel(self, mel: FloatArray, rate_hz: float | None = None) -> FloatArray:
        """:meth:`embed` of speech given as volume-normalised power mel frames."""
        return _pool(self.partial_embeddings_mel(mel, rate_hz))


def _pool(partials: FloatArray) -> FloatArray:
    """L2-normalised mean of partial embeddings."""
    mean = partials.mean(axis=0)
    vector: FloatArray = (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32)
    return vector
