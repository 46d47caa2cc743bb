"""Channel effects applied identically to both classes, so that none of them marks a class."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import signal

from voxguard.audio.codec import cli_encode_decode, encode_decode, fit_length
from voxguard.audio.types import FloatArray
from voxguard.speaker.augment import AMR_NB_BITRATES, phone_channel

SR = 16000


# Up to 7.8 kHz: wideband ("HD voice") calls and MP3 encoders at 16 kHz cut at 7-7.6 kHz. With
# cutoffs up to 7 kHz only, the detector flagged 76.5% of genuine LibriSpeech low-passed at
# 7 kHz (`bench/spoof_false_alarms.py --channels lowpass-7k`; model card).
LOW_PASS_HZ = (3400.0, 7800.0)


def band_limit(x: FloatArray, rng: np.random.Generator) -> FloatArray:
    """Telephone-like: through 8 kHz, or a low-pass at a random cutoff in ``LOW_PASS_HZ``."""
    if rng.random() < 0.5:
        y = signal.resample_poly(signal.resample_poly(x, 1, 2), 2, 1)
    else:
        cutoff = rng.uniform(*LOW_PASS_HZ)
        sos = signal.butter(8, cutoff, btype="low", fs=SR, output="sos")
        y = signal.sosfilt(sos, x)
    out: FloatArray = np.asarray(y, dtype=np.float32)[: x.size]
    return out


def add_noise(x: FloatArray, rng: np.random.Generator) -> FloatArray:
    """White or pink-ish noise at 10-40 dB SNR."""
    snr_db = rng.uniform(10, 40)
    noise = rng.standard_normal(x.size).astype(np.float32)
    if rng.random() < 0.5:
        noise = np.asarray(signal.lfilter([1.0], [1.0, -0.95], noise), dtype=np.float32)
    p_sig = float(np.mean(x**2)) + 1e-12
    p_noise = float(np.mean(noise**2)) + 1e-12
    out: FloatArray = (x + noise * np.sqrt(p_sig / p_noise / 10 ** (snr_db / 10))).astype(
        np.float32
    )
    return out


def reverb(x: FloatArray, rng: np.random.Generator) -> FloatArray:
    """A synthetic exponentially decaying room response (RT60 0.2-0.7 s)."""
    rt60 = rng.uniform(0.2, 0.7)
    n = int(rt60 * SR)
    t = np.arange(n) / SR
    ir = rng.standard_normal(n) * np.exp(-6.9 * t / rt60)
    ir[0] = 1.0
    ir /= np.sqrt(np.sum(ir**2))
    y = signal.fftconvolve(x, ir)[: x.size]
    return np.asarray(y, dtype=np.float32)


# Upload bit rates: voice messages, podcasts and WebRTC calls up to 64 kbit/s. Trained on MP3
# at 16-32 kbit/s only, the detector flagged 96.8% of genuine LibriSpeech through MP3 at
# 64 kbit/s (`--channels mp3-64k`; model card).
MP3_BIT_RATES = (16_000, 24_000, 32_000, 48_000, 64_000)
OPUS_BIT_RATES = (8_000, 12_000, 16_000, 24_000, 32_000)


def codec_round_trip(x: FloatArray, rng: np.random.Generator) -> FloatArray:
    """MP3 or Opus via PyAV; returns the input when the encoder is missing."""
    choice = rng.choice(["mp3", "opus"])
    codec, container, rate = (
        ("libmp3lame", "mp3", int(rng.choice(MP3_BIT_RATES)))
        if choice == "mp3"
        else ("libopus", "ogg", int(rng.choice(OPUS_BIT_RATES)))
    )
    try:
        return _encode_decode(x, codec, container, rate)
    except Exception:  # encoder not built into this FFmpeg
        return x


def _encode_decode(x: FloatArray, codec: str, container: str, bit_rate: int) -> FloatArray:
    if codec != "libopus":
        return fit_length(encode_decode(x, SR, codec, container, bit_rate, False), x.size)
    # libopus takes 48 kHz (or 8/12/16/24 kHz, which this recipe never used).
    y = encode_decode(signal.resample_poly(x, 3, 1), 48000, codec, container, bit_rate, False)
    return fit_length(signal.resample_poly(y, 1, 3), x.size)


# Narrowband call codecs the detector trains on: mobile (AMR-NB, every mode), landline and
# VoIP trunks (G.711 mu-law / A-law), DECT and old trunks (G.726 ADPCM). G.723.1 is kept out
# so that the model card can report a phone codec the detector never saw.
PHONE_CODECS: tuple[tuple[str, tuple[int | None, ...]], ...] = (
    ("libopencore_amrnb", AMR_NB_BITRATES),
    ("pcm_mulaw", (None,)),
    ("pcm_alaw", (None,)),
    ("g726", (16_000, 24_000, 32_000, 40_000)),
)


def phone_line(x: FloatArray, rng: np.random.Generator) -> FloatArray:
    """A narrowband call: 300-3400 Hz, 8 kHz, a random call codec and rate, back to 16 kHz.

    Without it, genuine speech heard through a phone line looked synthetic to the detector
    (measured in the model card); callers are genuine whatever their line.
    """
    codec, rates = PHONE_CODECS[int(rng.integers(len(PHONE_CODECS)))]
    bit_rate = rates[int(rng.integers(len(rates)))]
    try:
        return phone_channel(x, codec=codec, bit_rate=bit_rate)
    except Exception:  # encoder not built into this FFmpeg
        return band_limit(x, rng)


EFFECTS = (band_limit, add_noise, reverb, codec_round_trip, phone_line)


# The "voip" augmentation (an experiment: docs/models/experiments/2026-12-07-voip-codec-
# augmentation.md): the same five effects, with the low-rate VoIP codecs callers' speech
# arrives through, for both classes: the upload codec is MP3 as before, Opus down to 6 kbit/s
# (WebRTC's low rates), or Speex narrowband (8 kHz) or wideband (16 kHz) at common VoIP rates,
# through the ``ffmpeg`` command. GSM stays out: it is the phone codec the false-alarm bench
# keeps unseen (``bench/spoof_false_alarms.py --channels gsm-fr``).
VOIP_OPUS_BIT_RATES = (6_000, 8_000, 10_000, 12_000, 16_000, 24_000, 32_000)
SPEEX_BIT_RATES = {8000: (8_000, 11_000, 15_000), 16000: (12_800, 16_800, 23_800)}
VOIP_UPLOAD_SHARES = {"mp3": 0.4, "opus": 0.3, "speex": 0.3}


def voip_codec_round_trip(x: FloatArray, rng: np.random.Generator) -> FloatArray:
    """MP3, Opus at 6-32 kbit/s or Speex; returns the input when the encoder is missing."""
    choice = str(rng.choice(list(VOIP_UPLOAD_SHARES), p=list(VOIP_UPLOAD_SHARES.values())))
    try:
        if choice == "mp3":
            return _encode_decode(x, "libmp3lame", "mp3", int(rng.choice(MP3_BIT_RATES)))
        if choice == "opus":
            return _encode_decode(x, "libopus", "ogg", int(rng.choice(VOIP_OPUS_BIT_RATES)))
        mode_rate = int(rng.choice(list(SPEEX_BIT_RATES)))
        return speex_round_trip(x, mode_rate, int(rng.choice(SPEEX_BIT_RATES[mode_rate])))
    except Exception:  # encoder not built into this FFmpeg, or no ffmpeg command
        return x


def speex_round_trip(x: FloatArray, mode_rate: int, bit_rate: int) -> FloatArray:
    """16 kHz audio through Speex at ``mode_rate`` (8000: narrowband, 16000: wideband)."""
    if mode_rate == SR:
        return fit_length(cli_encode_decode(x, SR, "libspeex", bit_rate), x.size)
    narrow = signal.resample_poly(x, 1, 2).astype(np.float32)
    coded = fit_length(cli_encode_decode(narrow, 8000, "libspeex", bit_rate), narrow.size)
    return fit_length(signal.resample_poly(coded, 2, 1).astype(np.float32), x.size)


VOIP_EFFECTS = (band_limit, add_noise, reverb, voip_codec_round_trip, phone_line)

# The channel augmentations a feature cache can be built with (``data --augmentation``).
AUGMENTATIONS: dict[str, tuple[Callable[[FloatArray, np.random.Generator], FloatArray], ...]] = {
    "standard": EFFECTS,
    "voip": VOIP_EFFECTS,
}


def random_channel(
    x: FloatArray,
    rng: np.random.Generator,
    effects: tuple[Callable[[FloatArray, np.random.Generator], FloatArray], ...] = EFFECTS,
) -> tuple[FloatArray, str]:
    """One or two random ``effects``; returns the audio and a short description."""
    k = 1 if rng.random() < 0.6 else 2
    picks = rng.choice(len(effects), size=k, replace=False)
    names = []
    for i in sorted(picks):
        x = effects[i](x, rng)
        names.append(effects[i].__name__)
    peak = float(np.abs(x).max()) if x.size else 0.0
    if peak > 1.0:
        x = x / peak
    return x.astype(np.float32), "+".join(names)


# The phone lines the detector is tested through (bench/spoof_false_alarms.py and
# bench/spoof_phone_channels.py): a GSM call, a landline, and a codec it never trained on,
# each as an 8 kHz recording reaches the detector (decoded, resampled to 16 kHz in floating
# point) and, "+16bit", as a 16 kHz 16-bit recording of the call.
_PHONE_LINES: dict[str, Callable[[FloatArray], FloatArray]] = {
    "amr-nb": lambda x: phone_channel(x, codec="libopencore_amrnb", bit_rate=12_200),
    "g711": lambda x: phone_channel(x, codec="pcm_mulaw"),
    "g723": lambda x: phone_channel(x, codec="g723_1", bit_rate=6_300),
}


def quantize_16bit(x: FloatArray) -> FloatArray:
    """The audio as a 16-bit file stores it.

    After a band limit, the empty band holds nothing in floating point but int16 rounding noise
    once the audio is written to a file; a detector trained without phone lines read that
    difference as evidence (model card), so phone lines are tested both ways. Storing half
    the augmented training copies this way was measured and made every condition worse.
    """
    out: FloatArray = (np.round(np.clip(x, -1.0, 1.0) * 32767.0) / 32767.0).astype(np.float32)
    return out


def _stored_16bit(line: Callable[[FloatArray], FloatArray]) -> Callable[[FloatArray], FloatArray]:
    return lambda x: quantize_16bit(line(x))


TEST_PHONE_LINES: dict[str, Callable[[FloatArray], FloatArray]] = {
    **_PHONE_LINES,
    **{f"{name}+16bit": _stored_16bit(line) for name, line in _PHONE_LINES.items()},
}


# Compressed uploads the detector is tested through (bench/spoof_false_alarms.py and
# bench/spoof_phone_channels.py): a voice message or podcast as MP3 at 16 kHz and 32 or 64
# kbit/s (32k also fits the band-limited calibration, 64k stays a test), a
# WebRTC or WhatsApp call as Opus at 24 kbit/s, and AAC at 64 kbit/s, a codec the training
# augmentation leaves out. Genuine speech through any of them is genuine.
TEST_UPLOAD_CODECS: dict[str, Callable[[FloatArray], FloatArray]] = {
    "mp3-32k": lambda x: _encode_decode(x, "libmp3lame", "mp3", 32_000),
    "mp3-64k": lambda x: _encode_decode(x, "libmp3lame", "mp3", 64_000),
    "opus-24k": lambda x: _encode_decode(x, "libopus", "ogg", 24_000),
    "aac-64k": lambda x: _encode_decode(x, "aac", "adts", 64_000),
}

# Wideband band limits: a steep low-pass at 7 kHz (what MP3 encoders do at 16 kHz), and an
# HD-voice call, 50-7000 Hz through G.722, a codec the training augmentation leaves out (its
# coarse 4-8 kHz sub-band refills part of the cut band with quantisation noise).
TEST_WIDEBAND_LIMITS: dict[str, Callable[[FloatArray], FloatArray]] = {
    "lowpass-7k": lambda x: _filtered(x, signal.butter(8, 7000, fs=SR, output="sos")),
    "hd-voice": lambda x: fit_length(
        encode_decode(
            _filtered(x, signal.butter(8, (50, 7000), btype="bandpass", fs=SR, output="sos")),
            SR,
            "adpcm_g722",
            "wav",
        ),
        x.size,
    ),
}


def _filtered(x: FloatArray, sos: np.ndarray) -> FloatArray:
    out: FloatArray = signal.sosfilt(sos, x).astype(np.float32)
    return out


# Low-rate VoIP codecs (bench/spoof_false_alarms.py): Speex narrowband at 8 kbit/s and
# wideband at 16.8 kbit/s (through the ``ffmpeg`` command), Opus at 6 kbit/s. Genuine speech
# through any of them is genuine.
TEST_VOIP_CODECS: dict[str, Callable[[FloatArray], FloatArray]] = {
    "speex-nb-8k": lambda x: speex_round_trip(x, 8000, 8_000),
    "speex-wb-16.8k": lambda x: speex_round_trip(x, SR, 16_800),
    "opus-6k": lambda x: _encode_decode(x, "libopus", "ogg", 6_000),
}


TEST_CHANNELS: dict[str, Callable[[FloatArray], FloatArray]] = {
    **TEST_PHONE_LINES,
    **TEST_UPLOAD_CODECS,
    **TEST_WIDEBAND_LIMITS,
    **TEST_VOIP_CODECS,
}
