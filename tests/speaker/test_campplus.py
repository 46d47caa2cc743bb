"""The bundled CAM++ encoder: Kaldi filterbanks, window embeddings, and its sidecar checks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.diarization.conversation import _longest_readers
from voxguard.errors import ModelMismatch, ModelUnavailable
from voxguard.models import bundled_model_path
from voxguard.speaker.campplus import CamppEncoder, kaldi_fbank


@pytest.fixture(scope="module")
def encoder() -> CamppEncoder:
    return CamppEncoder()


def test_filterbanks_are_80_bins_every_10_ms_of_whole_25_ms_frames() -> None:
    noise = np.random.default_rng(0).standard_normal(16000).astype(np.float32) * 0.1
    fbank = kaldi_fbank(noise)
    assert fbank.shape == (1 + (16000 - 400) // 160, 80)
    assert np.isfinite(fbank).all()
    assert kaldi_fbank(noise[:399]).shape == (0, 80)


def test_windows_of_one_reader_are_closer_than_windows_of_two(encoder: CamppEncoder) -> None:
    voices = _longest_readers(3)
    starts = np.arange(0, 800, 100)  # eight 1.6 s windows over each reader's first 9.6 s
    rows = [encoder.embed_windows(kaldi_fbank(v[: 16000 * 10]), starts, 160) for v in voices]
    assert all(r.shape == (8, 192) for r in rows)
    assert np.allclose([np.linalg.norm(r, axis=1) for r in rows], 1.0, atol=1e-5)
    same = np.mean([(r @ r.T)[np.triu_indices(8, 1)].mean() for r in rows])
    other = np.mean([(a @ b.T).mean() for i, a in enumerate(rows) for b in rows[i + 1 :]])
    assert same > other + 0.3


def test_a_window_past_the_end_is_moved_back_and_a_short_recording_embedded_whole(
    encoder: CamppEncoder,
) -> None:
    voice = _longest_readers(1)[0][: 16000 * 3]
    fbank = kaldi_fbank(voice)
    last = fbank.shape[0] - 160
    moved = encoder.embed_windows(fbank, np.array([last + 50]), 160)
    assert np.allclose(moved, encoder.embed_windows(fbank, np.array([last]), 160), atol=1e-5)
    short = kaldi_fbank(voice[:16000])
    assert encoder.embed_windows(short, np.array([0, 10]), 160).shape == (2, 192)
    assert encoder.embed_windows(fbank, np.zeros(0, np.int64), 160).shape == (0, 192)


def _copy(tmp_path: Path) -> Path:
    folder = tmp_path / "campplus"
    shutil.copytree(bundled_model_path("campplus"), folder)
    return folder


def test_a_graph_that_does_not_match_its_sidecar_is_refused(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    sidecar = json.loads((folder / "campplus.json").read_text())
    sidecar["onnx_sha256"] = "0" * 64
    (folder / "campplus.json").write_text(json.dumps(sidecar))
    with pytest.raises(ModelMismatch, match="sha256"):
        CamppEncoder(folder)
    del sidecar["embedding_size"]
    (folder / "campplus.json").write_text(json.dumps(sidecar))
    with pytest.raises(ModelMismatch, match="incomplete"):
        CamppEncoder(folder)


def test_a_missing_graph_says_what_to_do(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    (folder / "campplus.onnx").unlink()
    with pytest.raises(ModelUnavailable, match="reinstall"):
        CamppEncoder(folder)


def test_an_utterance_is_one_pass_and_a_long_one_the_weighted_mean_of_pieces(
    encoder: CamppEncoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    voice = _longest_readers(1)[0][: 16000 * 12]
    fbank = kaldi_fbank(voice)
    whole = encoder.embed(voice)
    assert whole.shape == (192,) and np.linalg.norm(whole) == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_allclose(encoder.partial_embeddings(voice), whole[None], atol=1e-6)
    single = encoder.embed_windows(fbank, np.array([0]), fbank.shape[0])[0]
    np.testing.assert_allclose(whole, single, atol=1e-5)
    # pieces of at most 500 frames: 1198 frames -> three of 400, 399 and 399
    monkeypatch.setattr("voxguard.speaker.campplus.MAX_UTTERANCE_FRAMES", 500)
    pieces = [fbank[:400], fbank[400:799], fbank[799:]]
    rows = np.stack([encoder.embed_windows(p, np.array([0]), p.shape[0])[0] for p in pieces])
    mean = np.array([400, 399, 399], np.float32) @ rows
    np.testing.assert_allclose(encoder.embed(voice), mean / np.linalg.norm(mean), atol=1e-5)


def test_too_short_or_malformed_input_is_refused(encoder: CamppEncoder) -> None:
    with pytest.raises(ValueError, match="at least 400 samples"):
        encoder.embed(np.zeros(399, np.float32))
    with pytest.raises(ValueError, match=r"fbank must be \(frames >= 1, 80\)"):
        encoder.embed_fbank(np.zeros((10, 40), np.float32))
