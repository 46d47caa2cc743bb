"""Channel simulations for multi-condition enrollment and for building evaluation conditions.

``phone_channel`` is a telephone line: 300-3400 Hz band-pass, 8 kHz, a narrowband speech codec
(AMR-NB, the codec of GSM networks; this FFmpeg build has no GSM 06.10 encoder), back to
16 kHz. ``add_noise`` mixes any noise at a given speech-to-noise ratio.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import signal

from voxguard.audio.codec import encode_decode, fit_length
from voxguard.audio.types import PHONE_BAND_HZ, FloatArray

SAMPLE_RATE = 16_000
_AMR_BITRATE = 12_200


def band_pass(
    samples: FloatArray, low_hz: float, high_hz: float, rate: int = SAMPLE_RATE
) -> FloatArray:
    sos = signal.butter(6, [low_hz, high_hz], btype="bandpass", fs=rate, output="sos")
    out: FloatArray = signal.sosfilt(sos, samples).astype(np.float32)
    return out


AMR_NB_BITRATES = (4_750, 5_150, 5_900, 6_700, 7_400, 7_950, 10_200, 12_200)


def phone_channel(
    samples: FloatArray, codec: str = "libopencore_amrnb", bit_rate: int | None = None
) -> FloatArray:
    """16 kHz in, 16 kHz out, through a simulated narrowband phone call.

    ``codec``: any 8 kHz FFmpeg speech encoder (``libopencore_amrnb``, ``pcm_mulaw`` and
    ``pcm_alaw`` for G.711, ``g726``, ``g723_1`` at 6300 bit/s). ``bit_rate``: for AMR-NB one
    of ``AMR_NB_BITRATES`` (default 12.2 kbit/s, the mode of a good GSM call); for the others
    passed to the encoder as is (default: the encoder's own).
    """
    if "amr" in codec:
        bit_rate = bit_rate or _AMR_BITRATE
        if bit_rate not in AMR_NB_BITRATES:
            raise ValueError(f"AMR-NB bit rate {bit_rate} is not one of {AMR_NB_BITRATES}")
    container = "amr" if "amr" in codec else "wav"
    return narrowband_call(
        samples, lambda narrow: encode_decode(narrow, 8000, codec, container, bit_rate)
    )


def narrowband_call(samples: FloatArray, code: Callable[[FloatArray], FloatArray]) -> FloatArray:
    """16 kHz in and out: the 300-3400 Hz band at 8 kHz, through ``code`` (8 kHz float audio
    through a speech codec and back), then 16 kHz again."""
    limited = band_pass(samples, *PHONE_BAND_HZ)
    narrow = signal.resample_poly(limited, 1, 2).astype(np.float32)
    # A codec may return a few samples more or fewer than it was given (frame padding, encoder
    # delay): fit both legs to length so that the output keeps the input's timeline.
    coded = fit_length(code(narrow), narrow.size)
    wide = signal.resample_poly(coded, 2, 1).astype(np.float32)
    return fit_length(wide, samples.size)


def add_noise(speech: FloatArray, noise: FloatArray, snr_db: float) -> FloatArray:
    """``speech`` plus ``noise`` (looped or cut to length) scaled to ``snr_db``."""
    if noise.size < speech.size:
        noise = np.tile(noise, int(np.ceil(speech.size / max(noise.size, 1))))
    noise = noise[: speech.size]
    p_speech = float(np.mean(np.square(speech, dtype=np.float64))) + 1e-12
    p_noise = float(np.mean(np.square(noise, dtype=np.float64))) + 1e-12
    gain = np.sqrt(p_speech / (p_noise * 10 ** (snr_db / 10)))
    mixed = speech + gain * noise
    peak = float(np.max(np.abs(mixed))) if mixed.size else 0.0
    if peak > 1.0:
        mixed = mixed / peak
    out: FloatArray = mixed.astype(np.float32)
    return out
