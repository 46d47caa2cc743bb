/**
 * Kaldi log mel filterbanks, the input of the CAM++ speaker model: the `fbank` field of the
 * privacy-mode body, as the server's `voxguard.speaker.campplus.kaldi_fbank` (kaldi-native-fbank)
 * computes them from 16 kHz mono samples in [-1, 1].
 *
 * Per frame (400 samples every 160, only whole frames: 1 + floor((N - 400) / 160) of them, none
 * under 400 samples): remove the frame's mean, pre-emphasis 0.97 (x[i] -= 0.97 x[i-1], x[0] -=
 * 0.97 x[0]), Povey window ((0.5 - 0.5 cos(2 pi n / 399)) ^ 0.85), zero-padded to 512, |FFT|^2,
 * 80 triangular filters on the HTK mel scale (1127 ln(1 + f / 700)) between 20 and 8000 Hz
 * over the first 256 FFT bins, natural log with a floor of float32 epsilon. No dither.
 * Computed in float64; the server computes in float32, so values agree to about 1e-4.
 * This module has no imports: pure functions, usable in a worker.
 */

export const FBANK_BINS = 80;
const FRAME = 400;
const HOP = 160;
const PADDED = 512;
const RATE = 16000;
const LOW_HZ = 20;
const FLOOR = 1.1920928955078125e-7; // float32 epsilon
const PREEMPHASIS = 0.97;

/** Filterbank frames of `nSamples` samples (whole 400-sample frames only). */
export function fbankFrameCount(nSamples: number): number {
  return nSamples < FRAME ? 0 : 1 + Math.floor((nSamples - FRAME) / HOP);
}

function melScale(hz: number): number {
  return 1127.0 * Math.log(1.0 + hz / 700.0);
}

interface FbankTables {
  window: Float64Array;
  cos: Float64Array; // twiddles of the 512-point FFT
  sin: Float64Array;
  bitReversed: Uint16Array;
  // Per filter: its first FFT bin and the weights from there.
  filters: Array<[number, Float64Array]>;
}

let cache: FbankTables | null = null;

function fbankTables(): FbankTables {
  if (cache) return cache;
  const window = new Float64Array(FRAME);
  for (let n = 0; n < FRAME; n++) {
    window[n] = Math.pow(0.5 - 0.5 * Math.cos((2 * Math.PI * n) / (FRAME - 1)), 0.85);
  }
  const cos = new Float64Array(PADDED / 2);
  const sin = new Float64Array(PADDED / 2);
  for (let k = 0; k < PADDED / 2; k++) {
    cos[k] = Math.cos((2 * Math.PI * k) / PADDED);
    sin[k] = -Math.sin((2 * Math.PI * k) / PADDED);
  }
  const bits = Math.log2(PADDED);
  const bitReversed = new Uint16Array(PADDED);
  for (let i = 0; i < PADDED; i++) {
    let r = 0;
    for (let b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b);
    bitReversed[i] = r;
  }
  const melLow = melScale(LOW_HZ);
  const melHigh = melScale(RATE / 2);
  const delta = (melHigh - melLow) / (FBANK_BINS + 1);
  const binHz = RATE / PADDED;
  const filters: Array<[number, Float64Array]> = [];
  for (let b = 0; b < FBANK_BINS; b++) {
    const left = melLow + b * delta;
    const centre = left + delta;
    const right = centre + delta;
    const weights = new Float64Array(PADDED / 2);
    let first = -1;
    let last = -1;
    for (let i = 0; i < PADDED / 2; i++) {
      const mel = melScale(i * binHz);
      if (mel > left && mel < right) {
        weights[i] = mel <= centre ? (mel - left) / (centre - left) : (right - mel) / (right - centre);
        if (first < 0) first = i;
        last = i;
      }
    }
    filters.push([Math.max(first, 0), weights.slice(Math.max(first, 0), last + 1)]);
  }
  cache = { window, cos, sin, bitReversed, filters };
  return cache;
}

/** In-place radix-2 FFT of a 512-point complex signal. */
function fft(re: Float64Array, im: Float64Array, t: FbankTables): void {
  for (let i = 0; i < PADDED; i++) {
    const j = t.bitReversed[i];
    if (j > i) {
      [re[i], re[j]] = [re[j], re[i]];
      [im[i], im[j]] = [im[j], im[i]];
    }
  }
  for (let size = 2; size <= PADDED; size *= 2) {
    const half = size / 2;
    const step = PADDED / size;
    for (let start = 0; start < PADDED; start += size) {
      for (let k = 0; k < half; k++) {
        const wr = t.cos[k * step];
        const wi = t.sin[k * step];
        const a = start + k;
        const b = a + half;
        const xr = re[b] * wr - im[b] * wi;
        const xi = re[b] * wi + im[b] * wr;
        re[b] = re[a] - xr;
        im[b] = im[a] - xi;
        re[a] += xr;
        im[a] += xi;
      }
    }
  }
}

/** (frames, 80) Kaldi log mel filterbanks of 16 kHz samples in [-1, 1] (float32 values). */
export function kaldiFbank(samples: Float32Array): Float32Array[] {
  const t = fbankTables();
  const frames = fbankFrameCount(samples.length);
  const re = new Float64Array(PADDED);
  const im = new Float64Array(PADDED);
  const out: Float32Array[] = [];
  for (let f = 0; f < frames; f++) {
    const start = f * HOP;
    let mean = 0;
    for (let n = 0; n < FRAME; n++) mean += samples[start + n];
    mean /= FRAME;
    for (let n = FRAME - 1; n >= 0; n--) {
      const x = samples[start + n] - mean;
      const previous = n > 0 ? samples[start + n - 1] - mean : x;
      re[n] = (x - PREEMPHASIS * previous) * t.window[n];
    }
    re.fill(0, FRAME);
    im.fill(0);
    fft(re, im, t);
    const row = new Float32Array(FBANK_BINS);
    for (let b = 0; b < FBANK_BINS; b++) {
      const [first, weights] = t.filters[b];
      let energy = 0;
      for (let i = 0; i < weights.length; i++) {
        const k = first + i;
        energy += weights[i] * (re[k] * re[k] + im[k] * im[k]);
      }
      row[b] = Math.log(Math.max(energy, FLOOR));
    }
    out.push(row);
  }
  return out;
}
