"""Find copies of the same recording across sources, before any split.

Three kinds of copy, checked in this order against every clip kept so far (the demos of
``shared/data/demos`` first, then the sources in repository and path order):

1. the same git blob (caught during extraction within a repository, here across them);
2. the same 16-bit audio after decoding (a re-wrapped file);
3. a re-encoded or resampled copy hosted by another source: its loudness envelope matches
   (the guard's test: 20 ms log power, correlation >= 0.85, >= 0.93 under 4 s, within 0.5 s)
   *and* so does its waveform (peak normalised cross-correlation). The waveform test keeps
   vocoded copies apart: a vocoder or codec re-synthesis of a recording shares its envelope
   but not its phase. Measured on the demo pages: genuine copies hosted twice correlate
   0.66-0.88 (trimmed and resampled differently), short genuine clips whose envelopes match
   by chance at most 0.2, so two genuine clips are one recording from 0.5 on; two codecs'
   outputs of one utterance reach 0.87, so two synthetic clips are one output from 0.9 on.

A copy whose label differs from the kept clip is not dropped (a page's codec output of
another page's recording is a new clip), only counted. Within one repository only the first
two kinds apply: pages lay a recording beside its own re-syntheses on purpose.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from voxguard.audio.types import FloatArray

FRAME = 320  # 20 ms at 16 kHz, as the guard
WHOLE_MATCH = 0.85
SHORT_MATCH = 0.93
SHORT_FRAMES = 200  # 4 s
MAX_LAG = 25
WAVE_MATCH = {"bonafide": 0.5, "spoof": 0.9}  # by the label both clips share
_SKETCH = 64
_SKETCH_MATCH = 0.7
_WAVE_SECONDS = 8.0


@dataclass(frozen=True)
class ClipRef:
    """What deduplication needs of a clip: who it is and its audio's fingerprints."""

    key: str
    label: str
    source: str
    pcm_sha1: str
    envelope: FloatArray


@dataclass(frozen=True)
class Copy:
    key: str
    of: str
    kind: str  # "identical audio", "re-encoded copy"
    same_label: bool


def envelope(samples: FloatArray) -> FloatArray:
    n = len(samples) // FRAME
    if n == 0:
        return np.zeros(0, dtype=np.float32)
    power = np.mean(samples[: n * FRAME].astype(np.float64).reshape(n, FRAME) ** 2, axis=1)
    e = np.log10(power + 1e-8)
    z: FloatArray = ((e - e.mean()) / (e.std() + 1e-8)).astype(np.float32)
    return z


def lagged_corr(a: FloatArray, b: FloatArray) -> float:
    """The guard's envelope match: best mean product over +-0.5 s of misalignment."""
    best = -1.0
    for lag in range(-MAX_LAG, MAX_LAG + 1):
        x, y = (a[lag:], b) if lag >= 0 else (a, b[-lag:])
        m = min(len(x), len(y))
        if m >= 50:
            best = max(best, float(np.dot(x[:m], y[:m]) / m))
    return best


def waveform_corr(a: FloatArray, b: FloatArray) -> float:
    """Peak normalised cross-correlation of the first seconds, within +-0.6 s."""
    n = int(_WAVE_SECONDS * 16000)
    x, y = a[:n].astype(np.float64), b[:n].astype(np.float64)
    size = 1 << int(np.ceil(np.log2(len(x) + len(y))))
    xc = np.fft.irfft(np.fft.rfft(x, size) * np.conj(np.fft.rfft(y, size)), size)
    max_lag = int(0.6 * 16000)
    window = np.concatenate([xc[: max_lag + 1], xc[-max_lag:]])
    # normalise by the energies of the overlapping parts (approximated by the whole excerpts)
    norm = np.sqrt(np.dot(x, x) * np.dot(y, y)) + 1e-12
    return float(np.max(np.abs(window)) / norm)


def _sketch(e: FloatArray) -> FloatArray:
    if e.size < 2:
        return np.zeros(_SKETCH, dtype=np.float32)
    s = np.interp(np.linspace(0, e.size - 1, _SKETCH), np.arange(e.size), e)
    s = s - s.mean()
    unit: FloatArray = (s / (np.linalg.norm(s) + 1e-8)).astype(np.float32)
    return unit


def find_copies(
    refs: Sequence[ClipRef], load: Callable[[str], FloatArray], n_reference: int = 0
) -> list[Copy]:
    """Every clip (after the first ``n_reference``, which are kept as they are) that copies
    an earlier kept clip. ``refs`` is in precedence order; ``load`` reads a clip's samples."""
    copies: list[Copy] = []
    by_pcm: dict[str, ClipRef] = {}
    kept = np.zeros(len(refs), dtype=bool)
    lengths = np.array([r.envelope.size for r in refs], dtype=np.int64)
    sources = np.unique([r.source for r in refs], return_inverse=True)[1]
    sketches = np.stack([_sketch(r.envelope) for r in refs]) if refs else np.zeros((0, _SKETCH))
    for i, ref in enumerate(refs):
        first = by_pcm.get(ref.pcm_sha1)
        if first is not None and i >= n_reference:
            same = first.label == ref.label
            copies.append(Copy(ref.key, first.key, "identical audio", same))
            if same:
                continue
        by_pcm.setdefault(ref.pcm_sha1, ref)
        if i >= n_reference and lengths[i] >= 50:
            n = lengths[i]
            near = np.flatnonzero(
                kept[:i]
                & (sources[:i] != sources[i])
                & (np.abs(lengths[:i] - n) <= 0.05 * np.maximum(lengths[:i], n) + 15)
            )
            near = near[sketches[near] @ sketches[i] >= _SKETCH_MATCH] if near.size else near
            match = _envelope_copy(i, refs, near, load)
            if match is not None:
                j, same = match
                copies.append(Copy(ref.key, refs[j].key, "re-encoded copy", same))
                if same:
                    continue
        kept[i] = True
    return copies


def _envelope_copy(
    i: int, refs: Sequence[ClipRef], near: np.ndarray, load: Callable[[str], FloatArray]
) -> tuple[int, bool] | None:
    """The first of the ``near`` clips (kept, other sources, similar length and sketch) that
    clip ``i`` copies, and whether the labels agree; a same-label match wins."""
    ref = refs[i]
    n = ref.envelope.size
    threshold = WHOLE_MATCH if n >= SHORT_FRAMES else SHORT_MATCH
    found: tuple[int, bool] | None = None
    samples: FloatArray | None = None
    for j in near:
        if lagged_corr(refs[j].envelope, ref.envelope) < threshold:
            continue
        same = refs[j].label == ref.label
        samples = load(ref.key) if samples is None else samples
        if waveform_corr(load(refs[j].key), samples) < WAVE_MATCH[ref.label if same else "spoof"]:
            continue
        if same:
            return int(j), True
        found = found or (int(j), False)
    return found
