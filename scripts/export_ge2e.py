"""Export Resemblyzer's pretrained GE2E speaker encoder to ONNX with a JSON sidecar.

Needs the ``export`` extra (torch + resemblyzer + onnx). Reproduce the bundled model with::

    .venv/bin/python scripts/export_ge2e.py

Writes ``src/voxguard/models/ge2e/{ge2e.onnx,ge2e.json,LICENSE}``. The network exported is
exactly ``VoiceEncoder.forward``: 3-layer LSTM -> linear -> ReLU -> L2 norm over the last
hidden state. Input ``mels``: (batch, frames, 40) power mel frames; output ``embeddings``:
(batch, 256). Batch and frames are dynamic.
"""

from __future__ import annotations

import argparse
import json
from importlib import metadata
from pathlib import Path

import numpy as np
import resemblyzer
import torch
from resemblyzer import VoiceEncoder, hparams

from onnx_export import export_checked, sha256

ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = ROOT / "src" / "voxguard" / "models" / "ge2e"
MODEL_VERSION = "ge2e-resemblyzer-0.1.4-onnx1"

ATTRIBUTION = """Resemblyzer pretrained GE2E speaker encoder (pretrained.pt), exported to ONNX
by scripts/export_ge2e.py. Copyright (c) 2019 Resemble AI / Corentin Jemine.
Source: https://github.com/resemble-ai/Resemblyzer (wheel resemblyzer==0.1.4 on PyPI).
The license below is the one shipped in that wheel (Apache License 2.0).

"""


def write_license(out_dir: Path) -> None:
    """Attribution + the Apache-2.0 text shipped in the resemblyzer wheel's metadata."""
    files = metadata.files("resemblyzer") or []
    license_file = next(f for f in files if f.name == "LICENSE")
    text = Path(str(license_file.locate())).read_text()
    (out_dir / "LICENSE").write_text(ATTRIBUTION + text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out-dir", type=Path, default=OUT_DIR)
    args = parser.parse_args()
    out_dir: Path = args.out_dir
    out_dir.mkdir(parents=True, exist_ok=True)

    torch.manual_seed(0)
    encoder = VoiceEncoder(device="cpu", verbose=False).eval()
    weights = Path(resemblyzer.__file__).resolve().parent / "pretrained.pt"
    onnx_path = out_dir / "ge2e.onnx"
    dummy = torch.rand(2, hparams.partials_n_frames, hparams.mel_n_channels)
    # Sanity check against torch on random input of another batch and length.
    probe = np.random.default_rng(0).random((3, 200, 40), dtype=np.float32)
    max_diff, _ = export_checked(encoder, dummy, probe, onnx_path, "mels")
    if max_diff > 1e-4:
        raise SystemExit(f"ONNX export differs from torch by {max_diff}")

    sidecar = {
        "name": "ge2e",
        "model_version": MODEL_VERSION,
        "task": "speaker embedding (d-vector, GE2E loss)",
        "input": {"name": "mels", "shape": ["batch", "frames", hparams.mel_n_channels]},
        "output": {"name": "embeddings", "shape": ["batch", hparams.model_embedding_size]},
        "sample_rate": hparams.sampling_rate,
        "window_ms": hparams.mel_window_length,
        "hop_ms": hparams.mel_window_step,
        "n_fft": int(hparams.sampling_rate * hparams.mel_window_length / 1000),
        "hop_length": int(hparams.sampling_rate * hparams.mel_window_step / 1000),
        "n_mels": hparams.mel_n_channels,
        "mel": "power 2, Slaney mel scale and norm, periodic Hann, center=True, zero padding",
        "partial_frames": hparams.partials_n_frames,
        "partial_rate_hz": 1.3,
        "min_coverage": 0.75,
        "audio_norm_target_dbfs": hparams.audio_norm_target_dBFS,
        "embedding_size": hparams.model_embedding_size,
        "onnx_sha256": sha256(onnx_path),
        "export_max_abs_diff_vs_torch": max_diff,
        "provenance": {
            "source": "resemblyzer VoiceEncoder (pretrained.pt shipped in the PyPI wheel)",
            "resemblyzer_version": metadata.version("resemblyzer"),
            "pretrained_pt_sha256": sha256(weights),
            "torch_version": torch.__version__,
            "onnx_opset": 17,
            "exported_by": "scripts/export_ge2e.py",
            "training_data": (
                "upstream GE2E training set (LibriSpeech and VoxCeleb per the Resemblyzer "
                "README); LibriSpeech train-clean-100 speakers are seen in training"
            ),
        },
        "license": "Apache-2.0",
        "license_file": "LICENSE",
    }
    (out_dir / "ge2e.json").write_text(json.dumps(sidecar, indent=2) + "\n")
    write_license(out_dir)
    print(f"wrote {onnx_path} ({onnx_path.stat().st_size / 1e6:.1f} MB), max diff {max_diff:.2e}")


if __name__ == "__main__":
    main()
