"""Channel augmentation, identical for both classes.

Codecs, narrow bands, noise and rooms are channels, not spoofs: a phone call is genuine. The
chain is drawn from the random generator alone; nothing here knows a clip's label, so both
classes get the same distribution of effects by construction. The chain is returned as text
(``codec=amr_nb:7k|noise=pink:14dB``) for the manifest.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import av
import numpy as np

from voxguard.audio import TARGET_SAMPLE_RATE
from voxguard.audio.types import FloatArray
from voxguard.training.canonical import pink_noise
from voxguard.training.signal import db_to_gain, resample, rms_db


@dataclass(frozen=True)
class CodecSpec:
    encoder: str
    container: str
    sample_rate: int
    bitrates: tuple[int, ...]


# Encoders checked in PyAV's FFmpeg build (no GSM or Speex encoder there).
CODECS: dict[str, CodecSpec] = {
    "amr_nb": CodecSpec("libopencore_amrnb", "amr", 8000, (4750, 5900, 7400, 10200, 12200)),
    "opus": CodecSpec("libopus", "ogg", 16000, (6000, 8000, 12000, 16000)),
    "mp3": CodecSpec("libmp3lame", "mp3", 16000, (8000, 16000, 24000, 32000)),
    "mp3_8k": CodecSpec("libmp3lame", "mp3", 8000, (8000, 16000)),
    "g726": CodecSpec("g726", "wav", 8000, (16000, 24000, 32000)),
    "mulaw": CodecSpec("pcm_mulaw", "wav", 8000, (64000,)),
    "alaw": CodecSpec("pcm_alaw", "wav", 8000, (64000,)),
    "aac": CodecSpec("aac", "adts", 16000, (16000, 24000, 32000)),
}


@dataclass(frozen=True)
class AugmentParams:
    """Probabilities of each effect, and their ranges."""

    p_codec: float = 0.5
    p_narrowband: float = 0.2  # resample through 8 kHz (when no codec did)
    p_noise: float = 0.4
    p_reverb: float = 0.3
    p_gain: float = 0.6
    p_clip: float = 0.08
    snr_db: tuple[float, float] = (5.0, 30.0)
    rt60_s: tuple[float, float] = (0.15, 0.8)
    gain_db: tuple[float, float] = (-18.0, 6.0)


def available_codecs() -> list[str]:
    """The entries of CODECS whose encoder this FFmpeg build has."""
    usable = []
    for name, spec in CODECS.items():
        try:
            av.codec.Codec(spec.encoder, "w")
        except Exception:  # an absent encoder raises UnknownCodecError or ValueError
            continue
        usable.append(name)
    return usable


def codec_round_trip(samples: FloatArray, spec: CodecSpec, bitrate: int) -> FloatArray:
    """Encode 16 kHz audio with ``spec`` and decode it back to 16 kHz."""
    x = resample(samples, TARGET_SAMPLE_RATE, spec.sample_rate)
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format=spec.container) as out:
        stream = out.add_stream(spec.encoder, rate=spec.sample_rate, layout="mono")
        if not isinstance(stream, av.AudioStream):
            raise ValueError(f"{spec.encoder} is not an audio encoder")
        stream.bit_rate = bitrate
        formats = stream.codec_context.codec.audio_formats or []
        codec_format = formats[0].name if formats else "s16"
        stream.format = codec_format
        fixed_frame = stream.codec_context.frame_size
        frame_size = fixed_frame or 1024
        resampler = av.AudioResampler(format=codec_format, layout="mono", rate=spec.sample_rate)
        for start in range(0, x.size, frame_size):
            chunk = x[start : start + frame_size]
            if chunk.size < frame_size and fixed_frame:
                chunk = np.pad(chunk, (0, frame_size - chunk.size))
            frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="flt", layout="mono")
            frame.sample_rate = spec.sample_rate
            frame.pts = start
            for converted in resampler.resample(frame):
                for packet in stream.encode(converted):
                    out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    buffer.seek(0)
    pieces: list[FloatArray] = []
    with av.open(buffer, mode="r", format=spec.container) as container:
        back = av.AudioResampler(format="flt", layout="mono", rate=TARGET_SAMPLE_RATE)
        for decoded in container.decode(audio=0):
            decoded.pts = None
            pieces += [_mono(f) for f in back.resample(decoded)]
        pieces += [_mono(f) for f in back.resample(None)]
    y = np.concatenate(pieces).astype(np.float32) if pieces else np.zeros(0, np.float32)
    # Codecs add priming delay and padding; keep the original length.
    y = y[: samples.size]
    return np.pad(y, (0, samples.size - y.size)).astype(np.float32)


def _mono(frame: av.AudioFrame) -> FloatArray:
    return np.asarray(frame.to_ndarray(), dtype=np.float32).reshape(-1)


def synthetic_rir(rt60_s: float, rng: np.random.Generator) -> FloatArray:
    """Exponentially decaying noise after a direct path: a diffuse room of the given RT60."""
    length = int(min(rt60_s, 1.0) * TARGET_SAMPLE_RATE)
    t = np.arange(length) / TARGET_SAMPLE_RATE
    tail = rng.standard_normal(length) * np.exp(-6.9 * t / rt60_s)  # -60 dB at rt60
    pre_delay = int(rng.integers(16, 160))  # 1-10 ms before the first reflections
    tail[:pre_delay] = 0.0
    rir = tail / (np.sqrt(np.sum(tail**2)) + 1e-12) * float(rng.uniform(0.3, 1.0))
    rir[0] = 1.0
    return np.asarray(rir, dtype=np.float32)


def babble(size: int, pool: Sequence[FloatArray], rng: np.random.Generator) -> FloatArray:
    """3-6 other speakers talking at once, from the genuine pool."""
    mix = np.zeros(size, dtype=np.float64)
    for _ in range(int(rng.integers(3, 7))):
        voice = pool[int(rng.integers(len(pool)))]
        if voice.size == 0:
            continue
        start = int(rng.integers(max(1, voice.size)))
        piece = np.resize(np.roll(voice, -start), size)
        mix += piece / (np.std(piece) + 1e-9)
    normalised: FloatArray = (mix / (np.std(mix) + 1e-9)).astype(np.float32)
    return normalised


def augment(
    samples: FloatArray,
    rng: np.random.Generator,
    babble_pool: Sequence[FloatArray] = (),
    params: AugmentParams | None = None,
    codecs: Sequence[str] | None = None,
) -> tuple[FloatArray, str]:
    """A random channel chain applied to 16 kHz audio: (augmented audio, chain description).

    ``rng`` should be the clip's own generator (seeded from the corpus seed and the clip), so
    that a clip's chain does not depend on which clips were built before it.
    """
    p = params or AugmentParams()
    names = list(codecs) if codecs is not None else available_codecs()
    x = samples.astype(np.float32, copy=True)
    steps: list[str] = []
    draws = rng.random(6)

    if draws[0] < p.p_reverb:
        rt60 = float(rng.uniform(*p.rt60_s))
        wet = np.convolve(x, synthetic_rir(rt60, rng))[: x.size].astype(np.float32)
        x = wet * (np.std(x) / (np.std(wet) + 1e-9))
        steps.append(f"reverb=rt60:{rt60:.2f}s")

    if draws[1] < p.p_noise:
        kind = ("white", "pink", "babble")[int(rng.integers(3))]
        if kind == "babble" and not babble_pool:
            kind = "pink"
        snr = float(rng.uniform(*p.snr_db))
        if kind == "white":
            noise = rng.standard_normal(x.size).astype(np.float32)
        elif kind == "pink":
            noise = pink_noise(x.size, rng)
        else:
            noise = babble(x.size, babble_pool, rng)
        level = db_to_gain(rms_db(x) - snr) / (np.std(noise) + 1e-9)
        x = x + (level * noise).astype(np.float32)
        steps.append(f"noise={kind}:{snr:.0f}dB")

    coded = False
    if draws[2] < p.p_codec and names:
        name = names[int(rng.integers(len(names)))]
        spec = CODECS[name]
        bitrate = spec.bitrates[int(rng.integers(len(spec.bitrates)))]
        peak = float(np.max(np.abs(x))) if x.size else 0.0
        if peak > 0.99:
            x = x * (0.99 / peak)
        x = codec_round_trip(x, spec, bitrate)
        steps.append(f"codec={name}:{bitrate // 1000}k")
        coded = spec.sample_rate == 8000

    if draws[3] < p.p_narrowband and not coded:
        x = resample(resample(x, TARGET_SAMPLE_RATE, 8000), 8000, TARGET_SAMPLE_RATE)[: x.size]
        steps.append("resample=8k")

    if draws[4] < p.p_gain:
        gain = float(rng.uniform(*p.gain_db))
        x = x * db_to_gain(gain)
        steps.append(f"gain={gain:+.0f}dB")

    if draws[5] < p.p_clip:
        peak = float(np.max(np.abs(x))) if x.size else 0.0
        fraction = float(rng.uniform(0.3, 0.7))
        x = np.clip(x, -peak * fraction, peak * fraction)
        steps.append(f"clip={fraction:.2f}xpeak")

    return np.clip(x, -1.0, 1.0).astype(np.float32), "|".join(steps) or "none"
