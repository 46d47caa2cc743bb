"""ONNX GE2E against Resemblyzer's torch implementation (needs the export extra)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.conftest import shared_data
from voxguard.audio import load_audio
from voxguard.errors import ModelMismatch
from voxguard.models import bundled_model_path
from voxguard.speaker.encoder import Ge2eEncoder
from voxguard.speaker.features import mel_spectrogram


@pytest.fixture(scope="module")
def reference():  # type: ignore[no-untyped-def]
    pytest.importorskip("torch", reason="torch is in the export extra (make install)")
    resemblyzer = pytest.importorskip(
        "resemblyzer", reason="resemblyzer is in the export extra (make install)"
    )
    return resemblyzer


@pytest.fixture(scope="module")
def encoder() -> Ge2eEncoder:
    return Ge2eEncoder()


def test_same_mel_input(reference, encoder: Ge2eEncoder) -> None:  # type: ignore[no-untyped-def]
    import torch

    model = reference.VoiceEncoder(device="cpu", verbose=False)
    wav = load_audio(shared_data("librispeech", "103-1240-0000.flac")).samples[: 16000 * 4]
    mels = np.stack([mel_spectrogram(wav)[i : i + 160] for i in (0, 77, 154)])
    with torch.no_grad():
        want = model(torch.from_numpy(mels)).numpy()
    got = encoder.embed_mels(mels)
    diff = float(np.max(np.abs(got - want)))
    print(f"max abs difference, same mel input: {diff:.2e}")
    assert diff < 1e-4


def test_same_waveform(reference, encoder: Ge2eEncoder) -> None:  # type: ignore[no-untyped-def]
    model = reference.VoiceEncoder(device="cpu", verbose=False)
    clip = load_audio(shared_data("librispeech", "1034-121119-0000.flac"))
    wav = reference.preprocess_wav(clip.samples)
    want = model.embed_utterance(wav)
    got = encoder.embed(wav)
    diff = float(np.max(np.abs(got - want)))
    print(f"max abs difference, same waveform: {diff:.2e}")
    assert diff < 1e-4


def test_sidecar_mismatch_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    source = bundled_model_path("ge2e")
    (tmp_path / "ge2e.onnx").write_bytes((source / "ge2e.onnx").read_bytes())
    sidecar = json.loads((source / "ge2e.json").read_text())
    sidecar["onnx_sha256"] = "0" * 64
    (tmp_path / "ge2e.json").write_text(json.dumps(sidecar))
    with pytest.raises(ModelMismatch):
        Ge2eEncoder(tmp_path)
    sidecar = json.loads((source / "ge2e.json").read_text())
    sidecar["embedding_size"] = 128
    (tmp_path / "ge2e.json").write_text(json.dumps(sidecar))
    with pytest.raises(ModelMismatch):
        Ge2eEncoder(tmp_path)
