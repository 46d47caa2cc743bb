/**
 * Privacy mode: the speaker-encoder input features of a recording, computed in the browser so
 * that `POST /v1/verify/features` and `POST /v1/identify/features` never receive audio.
 *
 * Input: the whole recording as 16 kHz mono float samples in [-1, 1] (decode and resample
 * first, e.g. with `decodeMono(file, 16000)`), raw: not volume-normalised, not trimmed.
 *
 * The JSON body (`privacyFeatures`; verify adds `speaker_id`, identify may add `top_k`):
 *
 *   {
 *     "sample_rate": 16000, "n_fft": 400, "hop_length": 160, "n_mels": 40,
 *     "n_samples": N,                     // length of the recording in samples (>= 1)
 *     "mel": [[40 numbers], ...],         // 1 + floor(N / 160) frames
 *     "frame_rms": [numbers, ...],        // one per mel frame
 *     "fbank": [[80 numbers], ...]        // 1 + floor((N - 400) / 160) frames (none under 400)
 *   }
 *
 * - `mel[t]` is the power mel spectrum of frame t exactly as the server's
 *   `voxguard.speaker.features.mel_spectrogram` computes it (librosa's melspectrogram as
 *   Resemblyzer calls it): the samples zero-padded by 200 on both sides (`center=True`),
 *   400-sample frames every 160 samples, a periodic Hann window, |rfft|^2 (power, no log),
 *   40 Slaney-scale triangular filters with Slaney area normalisation over 0-8000 Hz.
 * - `frame_rms[t]` is sqrt(sum(x[160 t .. 160 t + 159]^2) / 160), samples past the end
 *   counted as zeros: the level of hop t, from which the server finds speech (an energy VAD)
 *   and normalises the volume of the speech frames.
 * - `fbank[i]` are the 80 Kaldi log mel filterbanks of samples [160 i, 160 i + 400), the input
 *   of the CAM++ speaker model (`kaldiFbank.ts`); a server on the GE2E model ignores them.
 *
 * Every value is a float32 written with 9 significant digits, which is the float32 exactly.
 * The DFT is a direct 400-point real DFT with float64 cos/sin tables (400 is not a power of
 * two); the window is applied in float32 as on the server, the rest is float64 rounded to
 * float32 at the end, so values agree with the server's float32 FFT to float32 precision.
 * Pure functions, usable in a worker.
 */

import { kaldiFbank } from "./kaldiFbank";

export const SAMPLE_RATE = 16000;
export const N_FFT = 400;
export const HOP_LENGTH = 160;
export const N_MELS = 40;
const N_BINS = 1 + N_FFT / 2;
const PAD = N_FFT / 2;

export interface PrivacyFeatures {
  sample_rate: 16000;
  n_fft: 400;
  hop_length: 160;
  n_mels: 40;
  n_samples: number;
  mel: number[][];
  frame_rms: number[];
  fbank: number[][];
}

/** Number of mel frames of `nSamples` samples (centred framing). */
export function frameCount(nSamples: number): number {
  return 1 + Math.floor(nSamples / HOP_LENGTH);
}

// Slaney mel scale: linear below 1 kHz, logarithmic above (librosa htk=False).
const F_SP = 200.0 / 3;
const MIN_LOG_HZ = 1000.0;
const MIN_LOG_MEL = MIN_LOG_HZ / F_SP;
const LOGSTEP = Math.log(6.4) / 27.0;

function hzToMel(hz: number): number {
  return hz >= MIN_LOG_HZ ? MIN_LOG_MEL + Math.log(hz / MIN_LOG_HZ) / LOGSTEP : hz / F_SP;
}

function melToHz(mel: number): number {
  return mel >= MIN_LOG_MEL ? MIN_LOG_HZ * Math.exp(LOGSTEP * (mel - MIN_LOG_MEL)) : mel * F_SP;
}

/** The n_mels + 2 filter edges in Hz, as numpy's linspace spaces them on the mel scale. */
export function melFrequencies(): Float64Array {
  const low = hzToMel(0.0);
  const high = hzToMel(SAMPLE_RATE / 2.0);
  const count = N_MELS + 2;
  const step = (high - low) / (count - 1);
  const edges = new Float64Array(count);
  for (let i = 0; i < count; i++) edges[i] = melToHz(i * step + low);
  edges[count - 1] = melToHz(high);
  return edges;
}

let filterCache: Float64Array[] | null = null;

/** Slaney mel filters (n_mels rows of 201 weights), each weight rounded to float32. */
export function melFilterbank(): Float64Array[] {
  if (filterCache) return filterCache;
  const melF = melFrequencies();
  const fftFreqs = new Float64Array(N_BINS);
  for (let k = 0; k < N_BINS; k++) fftFreqs[k] = k * (SAMPLE_RATE / 2 / (N_BINS - 1));
  const filters: Float64Array[] = [];
  for (let i = 0; i < N_MELS; i++) {
    const row = new Float64Array(N_BINS);
    const lowerWidth = melF[i + 1] - melF[i];
    const upperWidth = melF[i + 2] - melF[i + 1];
    const enorm = 2.0 / (melF[i + 2] - melF[i]);
    for (let k = 0; k < N_BINS; k++) {
      const lower = -(melF[i] - fftFreqs[k]) / lowerWidth;
      const upper = (melF[i + 2] - fftFreqs[k]) / upperWidth;
      row[k] = Math.fround(Math.max(0.0, Math.min(lower, upper)) * enorm);
    }
    filters.push(row);
  }
  filterCache = filters;
  return filters;
}

interface Tables {
  hann: Float32Array;
  cos: Float64Array; // cos(2 pi k n / 400), row k (0..200), column n
  sin: Float64Array;
  // The non-zero span of each filter: [first bin, last bin + 1).
  spans: Array<[number, number]>;
}

let tableCache: Tables | null = null;

function tables(): Tables {
  if (tableCache) return tableCache;
  const hann = new Float32Array(N_FFT);
  for (let n = 0; n < N_FFT; n++) hann[n] = 0.5 - 0.5 * Math.cos((2.0 * Math.PI * n) / N_FFT);
  const unitCos = new Float64Array(N_FFT);
  const unitSin = new Float64Array(N_FFT);
  for (let m = 0; m < N_FFT; m++) {
    unitCos[m] = Math.cos((2.0 * Math.PI * m) / N_FFT);
    unitSin[m] = Math.sin((2.0 * Math.PI * m) / N_FFT);
  }
  const cos = new Float64Array(N_BINS * N_FFT);
  const sin = new Float64Array(N_BINS * N_FFT);
  for (let k = 0; k < N_BINS; k++) {
    for (let n = 0; n < N_FFT; n++) {
      const m = (k * n) % N_FFT;
      cos[k * N_FFT + n] = unitCos[m];
      sin[k * N_FFT + n] = unitSin[m];
    }
  }
  const spans = melFilterbank().map((row): [number, number] => {
    let first = 0;
    while (first < N_BINS && row[first] === 0) first++;
    let last = N_BINS;
    while (last > first && row[last - 1] === 0) last--;
    return [first, last];
  });
  tableCache = { hann, cos, sin, spans };
  return tableCache;
}

/** Power mel spectrogram: 1 + floor(n / 160) frames of 40 values (float32). */
export function melSpectrogram(samples: Float32Array): Float32Array[] {
  const { hann, cos, sin, spans } = tables();
  const filters = melFilterbank();
  const nFrames = frameCount(samples.length);
  const frame = new Float64Array(N_FFT);
  const power = new Float64Array(N_BINS);
  const out: Float32Array[] = [];
  for (let t = 0; t < nFrames; t++) {
    const start = t * HOP_LENGTH - PAD;
    for (let n = 0; n < N_FFT; n++) {
      const index = start + n;
      const x = index >= 0 && index < samples.length ? samples[index] : 0;
      // float32 product of float32s, as numpy multiplies the frame by the float32 window.
      frame[n] = Math.fround(x * hann[n]);
    }
    for (let k = 0; k < N_BINS; k++) {
      const row = k * N_FFT;
      let re = 0;
      let im = 0;
      for (let n = 0; n < N_FFT; n++) {
        re += frame[n] * cos[row + n];
        im += frame[n] * sin[row + n];
      }
      power[k] = re * re + im * im;
    }
    const mel = new Float32Array(N_MELS);
    for (let i = 0; i < N_MELS; i++) {
      const weights = filters[i];
      const [first, last] = spans[i];
      let sum = 0;
      for (let k = first; k < last; k++) sum += Math.fround(power[k]) * weights[k];
      mel[i] = sum;
    }
    out.push(mel);
  }
  return out;
}

/** RMS of each 160-sample hop (zeros past the end), one per mel frame (float32). */
export function frameRms(samples: Float32Array): Float32Array {
  const nFrames = frameCount(samples.length);
  const out = new Float32Array(nFrames);
  for (let t = 0; t < nFrames; t++) {
    const start = t * HOP_LENGTH;
    const end = Math.min(start + HOP_LENGTH, samples.length);
    let energy = 0;
    for (let i = start; i < end; i++) energy += samples[i] * samples[i];
    out[t] = Math.sqrt(energy / HOP_LENGTH);
  }
  return out;
}

/** A float32 as the shortest decimal that reads back as the same float32. */
function float32Number(value: number): number {
  return value === 0 ? 0 : Number(value.toPrecision(9));
}

/** The body of the privacy-mode endpoints for 16 kHz mono `samples` (without speaker_id). */
export function privacyFeatures(samples: Float32Array): PrivacyFeatures {
  if (samples.length < 1) throw new Error("privacyFeatures needs at least one sample.");
  return {
    sample_rate: SAMPLE_RATE,
    n_fft: N_FFT,
    hop_length: HOP_LENGTH,
    n_mels: N_MELS,
    n_samples: samples.length,
    mel: melSpectrogram(samples).map((row) => Array.from(row, float32Number)),
    frame_rms: Array.from(frameRms(samples), float32Number),
    fbank: kaldiFbank(samples).map((row) => Array.from(row, float32Number)),
  };
}
