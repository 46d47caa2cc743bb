"""``evaluate`` scores files with the calibration ``detect`` applies to each of them."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import resample_poly

from tests.conftest import shared_data
from voxguard.audio import load_audio
from voxguard.models import bundled_model_path
from voxguard.spoof import SpoofDetector
from voxguard.spoof.evaluate import ManifestRow, evaluate


def test_a_phone_line_file_is_scored_with_the_phone_line_calibration(tmp_path: Path) -> None:
    model_dir = tmp_path / "model"
    shutil.copytree(bundled_model_path("spoof"), model_dir)
    sidecar = json.loads((model_dir / "spoof_detector.json").read_text())
    # Far from the clean mapping, so a mix-up between the two cannot pass unnoticed.
    sidecar["calibration"]["narrowband"] = {
        "scale": 0.5,
        "offset": -3.0,
        "below_high_band_db": -45.0,
    }
    (model_dir / "spoof_detector.json").write_text(json.dumps(sidecar))
    detector = SpoofDetector(model_dir=model_dir)
    wideband = shared_data("librispeech", "103-1240-0000.flac")
    call = tmp_path / "call-8k.wav"
    sf.write(call, resample_poly(load_audio(wideband).samples, 1, 2), 8000, subtype="PCM_16")
    report = evaluate([ManifestRow(wideband, 0, "-"), ManifestRow(call, 1, "phone")], detector)
    wide, narrow = detector.detect(wideband), detector.detect(call)
    assert (wide.channel, narrow.channel) == ("wideband", "narrowband")
    assert report.scores[0] == pytest.approx(float(detector.log_odds(wide.score)))
    assert report.scores[1] == pytest.approx(0.5 * narrow.score - 3.0)
    assert 1.0 / (1.0 + np.exp(-report.scores[1])) == pytest.approx(narrow.probability)


def test_the_corpus_manifest_names_its_systems_by_generator(tmp_path: Path) -> None:
    from voxguard.spoof.evaluate import read_manifest

    corpus = tmp_path / "manifest.csv"
    corpus.write_text(
        "path,label,generator,family\n"
        "librispeech/0.wav,bonafide,librispeech,bonafide\n"
        "piper/0.wav,spoof,piper,neural_tts\n"
        "kokoro/0.wav,spoof,kokoro,neural_tts\n"
    )
    rows = read_manifest(corpus)
    assert [r.system for r in rows if r.label == 1] == ["piper", "kokoro"]
    assert rows[1].path == tmp_path / "piper" / "0.wav"
    # An explicit system column wins; with neither, every spoof is one system.
    both = tmp_path / "both.csv"
    both.write_text("path,label,system,generator\na.wav,spoof,vits,piper\n")
    assert read_manifest(both)[0].system == "vits"
    bare = tmp_path / "bare.csv"
    bare.write_text("path,label\na.wav,spoof\n")
    assert read_manifest(bare)[0].system == "spoof"
