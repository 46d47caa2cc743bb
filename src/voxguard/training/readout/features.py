"""Window features of labelled recordings, computed by the base detector itself: its VAD,
its windows, its spectral statistics and its own ONNX graph for the pooled encoder
activations, so the read-out is refitted on exactly what it reads when served."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import onnxruntime as ort

from voxguard.audio.decode import load_audio
from voxguard.audio.types import AudioSource
from voxguard.errors import AudioError
from voxguard.spoof.detector import SpoofDetector
from voxguard.training.readout.graph import with_feature_outputs


@dataclass(frozen=True)
class Recording:
    key: str  # identifies the file (the blob's sha256): held-out splits go by it
    label: int  # 1 = spoof
    source: Callable[[], AudioSource]
    system: str | None = None


@dataclass
class FeatureSet:
    """Per window: features ([stats, encoded]), the base model's logit, the raw output of
    its fixed non-linear branch (zeros when its graph has none), and its file."""

    features: np.ndarray
    base_logits: np.ndarray
    branch: np.ndarray
    window_file: np.ndarray
    files: list[Recording]
    stats_dims: int
    skipped: dict[str, str] = field(default_factory=dict)  # key -> why

    @property
    def file_labels(self) -> np.ndarray:
        return np.array([r.label for r in self.files], dtype=np.int64)

    @property
    def window_labels(self) -> np.ndarray:
        labels: np.ndarray = self.file_labels[self.window_file]
        return labels


class Featurizer:
    def __init__(self, detector: SpoofDetector) -> None:
        self.detector = detector
        graph, self.encoded_name, self.branch_name = with_feature_outputs(detector.model_path)
        options = ort.SessionOptions()
        options.intra_op_num_threads = detector.settings.inference_threads
        options.log_severity_level = 3
        self.session = ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])
        stats = [i.name for i in detector.sidecar.inputs if i.kind == "spectral_statistics"]
        self.stats_name = stats[0]

    def windows(self, source: AudioSource) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(windows, stats + encoded features), (windows,) base logits and (windows,) raw
        branch outputs of one recording."""
        clip = load_audio(source, self.detector.settings)
        _, _, _, windows = self.detector.speech_windows(clip)
        if not windows:
            empty = np.zeros(0, np.float32)
            return np.zeros((0, 0), np.float32), empty, empty
        feeds = self.detector.feeds([w for _, w in windows])
        names = [self.detector.sidecar.output_name, self.encoded_name]
        outputs = self.session.run(names + ([self.branch_name] if self.branch_name else []), feeds)
        logit = np.asarray(outputs[0], np.float32).reshape(-1)
        features = np.concatenate([feeds[self.stats_name], np.asarray(outputs[1])], axis=1)
        branch = (
            np.asarray(outputs[2], np.float32).reshape(-1)
            if self.branch_name
            else np.zeros_like(logit)
        )
        return features.astype(np.float32), logit, branch

    def featurize(
        self,
        recordings: Sequence[Recording],
        progress: Callable[[int], None] | None = None,
        workers: int = 1,
    ) -> FeatureSet:
        """Every recording's windows, in order; ``workers`` threads decode and run the graph
        side by side (onnxruntime and most of numpy release the GIL)."""
        feats: list[np.ndarray] = []
        logits: list[np.ndarray] = []
        branches: list[np.ndarray] = []
        owner: list[np.ndarray] = []
        kept: list[Recording] = []
        skipped: dict[str, str] = {}

        def one(rec: Recording) -> tuple[np.ndarray, np.ndarray, np.ndarray, str | None]:
            try:
                return (*self.windows(rec.source()), None)
            except AudioError as exc:
                empty = np.zeros(0, np.float32)
                return np.zeros((0, 0), np.float32), empty, empty, exc.message

        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            for n, (rec, (x, base, branch, error)) in enumerate(
                zip(recordings, pool.map(one, recordings), strict=True)
            ):
                if error is not None:
                    skipped[rec.key] = error
                elif base.size:
                    feats.append(x)
                    logits.append(base)
                    branches.append(branch)
                    owner.append(np.full(base.size, len(kept)))
                    kept.append(rec)
                else:
                    skipped[rec.key] = "too little speech for one window"
                if progress:
                    progress(n + 1)
        if not kept:
            raise AudioError("none of the recordings has enough speech to featurise")
        stats_dims = int(self.session.get_inputs()[0].shape[1] or 0)
        for inp in self.session.get_inputs():
            if inp.name == self.stats_name:
                stats_dims = int(inp.shape[1])
        return FeatureSet(
            features=np.concatenate(feats),
            base_logits=np.concatenate(logits),
            branch=np.concatenate(branches),
            window_file=np.concatenate(owner),
            files=kept,
            stats_dims=stats_dims,
            skipped=skipped,
        )
