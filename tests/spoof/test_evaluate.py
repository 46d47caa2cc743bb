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
