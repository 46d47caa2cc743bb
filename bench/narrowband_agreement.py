"""Do the two "is this a phone line?" tests agree?

VoxGuard decides twice whether a recording is narrowband: the quality report's
``NARROWBAND`` code (effective bandwidth below ``VOXGUARD_NARROWBAND_HZ``, 5 kHz by
default; shown to the user) and the spoof detector's choice of calibration (``channel``
``narrowband`` when the speech has almost nothing above the telephone band, the sidecar's
``below_high_band_db``). They measure different things on purpose, one a user-facing
bandwidth, the other the condition the phone-line calibration was fitted on; this script
counts how often a user would see them disagree.

Every 8th LibriSpeech file and every 12th demo-page clip (first 8 s), clean, through the
simulated phone lines the detector is tested on, and through low-pass filters and MP3
round trips that keep the recording wideband or nearly so. Prints one row per condition:
files, share flagged by each test, share where they agree.

    OMP_NUM_THREADS=1 python bench/narrowband_agreement.py [--max-files 40]
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy import signal

from voxguard.audio import load_audio
from voxguard.audio.analysis import AudioFrontEnd
from voxguard.audio.codec import encode_decode, fit_length
from voxguard.audio.quality import QualityCode
from voxguard.audio.types import FloatArray
from voxguard.spoof import SpoofDetector
from voxguard.training.detector.augment import TEST_PHONE_LINES

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
RATE = 16_000


def low_pass(cutoff_hz: float) -> Callable[[FloatArray], FloatArray]:
    sos = signal.butter(8, cutoff_hz, fs=RATE, output="sos")
    return lambda x: signal.sosfilt(sos, x).astype(np.float32)


def mp3(bit_rate: int) -> Callable[[FloatArray], FloatArray]:
    return lambda x: fit_length(encode_decode(x, RATE, "libmp3lame", "mp3", bit_rate), x.size)


def through_8khz(x: FloatArray) -> FloatArray:
    """A recording stored at 8 kHz, as the loader resamples it back to 16 kHz."""
    narrow = signal.resample_poly(x, 1, 2)
    return fit_length(signal.resample_poly(narrow, 2, 1).astype(np.float32), x.size)


CONDITIONS: dict[str, Callable[[FloatArray], FloatArray]] = {
    "clean": lambda x: x,
    **TEST_PHONE_LINES,
    "stored at 8 kHz": through_8khz,
    "low-pass 4 kHz": low_pass(4000),
    "low-pass 5 kHz": low_pass(5000),
    "low-pass 6 kHz": low_pass(6000),
    "mp3 16 kbit/s": mp3(16_000),
    "mp3 32 kbit/s": mp3(32_000),
}


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--max-files", type=int, default=40, help="per source")
    args = ap.parse_args()
    files = sorted((SHARED / "librispeech").rglob("*.flac"))[::8][: args.max_files]
    files += sorted((SHARED / "demos").rglob("*.wav"))[::12][: args.max_files]
    if not files:
        raise SystemExit(f"no audio under {SHARED}: this bench needs ../shared/data")
    front_end = AudioFrontEnd()
    detector = SpoofDetector()
    clips = [load_audio(f) for f in files]
    print(
        f"{'condition':<20} {'files':>5} {'quality NARROWBAND':>18} {'spoof narrowband':>16} "
        f"{'agree':>6}"
    )
    for name, channel in CONDITIONS.items():
        quality_narrow = spoof_narrow = agree = 0
        for clip in clips:
            heard = channel(clip.samples[: 8 * RATE])
            analyzed = front_end.analyze_clip(dataclasses.replace(clip, samples=heard))
            by_quality = QualityCode.NARROWBAND in analyzed.quality.codes
            by_spoof = detector.channel_of(analyzed.speech) == "narrowband"
            quality_narrow += by_quality
            spoof_narrow += by_spoof
            agree += by_quality == by_spoof
        n = len(clips)
        print(
            f"{name:<20} {n:>5} {quality_narrow / n:>18.1%} {spoof_narrow / n:>16.1%} "
            f"{agree / n:>6.1%}",
            flush=True,
        )


if __name__ == "__main__":
    main()
