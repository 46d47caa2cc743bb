"""CAM++ speaker encoder run by onnxruntime: Kaldi filterbanks -> L2-normalised embeddings.

The bundled graph (``models/campplus``, exported by ``scripts/export_campplus.py`` from
3D-Speaker's zh-en "common advanced" CAM++) takes 80 Kaldi log mel filterbanks per 10 ms
frame and normalises each window's mean itself. The filterbanks come from
``kaldi-native-fbank`` with the options the model was trained with. The diarizer embeds its
windows with it when ``DiarizationParams.cluster_embedder`` is ``"campplus"``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from voxguard.audio.types import FloatArray
from voxguard.errors import ModelMismatch
from voxguard.models import bundled_model_path, check_sha256, cpu_session, read_model_files
from voxguard.speaker.scoring import unit_rows

_BATCH = 32
N_MELS = 80
SAMPLE_RATE = 16000
# An utterance longer than this is embedded in equal pieces of at most this many frames
# (30 s), whose embeddings are averaged weighted by length: bounds memory on long calls.
MAX_UTTERANCE_FRAMES = 3000


def kaldi_fbank(samples: FloatArray) -> FloatArray:
    """(frames, 80) Kaldi log mel filterbanks of 16 kHz ``samples`` in [-1, 1]; frame ``i``
    covers samples ``[160 i, 160 i + 400)`` (no frame for a tail under 25 ms)."""
    import kaldi_native_fbank as knf

    options = knf.FbankOptions()
    options.frame_opts.samp_freq = SAMPLE_RATE
    options.frame_opts.dither = 0.0
    options.frame_opts.snip_edges = True
    options.mel_opts.num_bins = N_MELS
    fbank = knf.OnlineFbank(options)
    fbank.accept_waveform(SAMPLE_RATE, np.asarray(samples, dtype=np.float32))
    fbank.input_finished()
    n = fbank.num_frames_ready
    if n == 0:
        return np.zeros((0, N_MELS), np.float32)
    return np.stack([np.asarray(fbank.get_frame(i), dtype=np.float32) for i in range(n)])


class CamppEncoder:
    """Loads the bundled CAM++ graph once; ``embed_windows`` is safe to share between threads
    (onnxruntime sessions are)."""

    name = "campplus"

    def __init__(self, model_dir: Path | None = None, threads: int = 1) -> None:
        folder = model_dir or bundled_model_path("campplus")
        onnx_path = folder / "campplus.onnx"
        sidecar, model_bytes = read_model_files(
            onnx_path,
            folder / "campplus.json",
            "CAM++",
            f"CAM++ speaker encoder missing in {folder}; reinstall voxguard.",
        )
        try:
            expected = str(sidecar["onnx_sha256"])
            self.model_version = str(sidecar["model_version"])
            self.embedding_size = int(sidecar["embedding_size"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelMismatch(f"CAM++ sidecar is incomplete or malformed: {exc}") from exc
        check_sha256(model_bytes, expected, onnx_path)
        self._session = cpu_session(model_bytes, threads)

    def embed_windows(self, fbank: FloatArray, starts: np.ndarray, frames: int) -> FloatArray:
        """(windows, 192) L2-normalised embeddings of ``fbank[s : s + frames]`` for each start
        ``s`` (a start too close to the end is moved back so that every window is whole; a
        recording shorter than one window is embedded whole)."""
        if starts.size == 0:
            return np.zeros((0, self.embedding_size), np.float32)
        if fbank.shape[0] < frames:
            pieces = [self._run(fbank[None])] * starts.size
            return unit_rows(np.concatenate(pieces))
        first = np.minimum(starts, fbank.shape[0] - frames)
        out = []
        for low in range(0, first.size, _BATCH):
            batch = np.stack([fbank[s : s + frames] for s in first[low : low + _BATCH]])
            out.append(self._run(batch))
        return unit_rows(np.concatenate(out))

    def embed_fbank(self, fbank: FloatArray) -> FloatArray:
        """L2-normalised utterance embedding of (frames, 80) filterbanks: one pass over all
        frames, or the length-weighted mean of equal pieces of at most
        ``MAX_UTTERANCE_FRAMES``."""
        fbank = np.asarray(fbank, dtype=np.float32)
        if fbank.ndim != 2 or fbank.shape[1] != N_MELS or fbank.shape[0] == 0:
            raise ValueError(f"fbank must be (frames >= 1, {N_MELS}), not {fbank.shape}.")
        pieces = np.array_split(fbank, -(-fbank.shape[0] // MAX_UTTERANCE_FRAMES))
        vectors = unit_rows(np.concatenate([self._run(piece[None]) for piece in pieces]))
        weights = np.array([piece.shape[0] for piece in pieces], np.float32)
        vector: FloatArray = unit_rows((weights @ vectors)[None])[0]
        return vector

    def embed(self, samples: FloatArray) -> FloatArray:
        """L2-normalised utterance embedding of speech-only 16 kHz ``samples`` (at least
        25 ms)."""
        fbank = kaldi_fbank(samples)
        if fbank.shape[0] == 0:
            raise ValueError("CAM++ needs at least 400 samples (25 ms) to embed.")
        return self.embed_fbank(fbank)

    def partial_embeddings(self, samples: FloatArray) -> FloatArray:
        """(1, 192): the utterance embedding, for callers that pool partial windows."""
        return self.embed(samples)[None]

    def _run(self, batch: FloatArray) -> FloatArray:
        result: FloatArray = self._session.run(["embeddings"], {"fbank": batch})[0]
        return result
