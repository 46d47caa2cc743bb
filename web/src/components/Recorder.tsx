import { useEffect, useRef, useState } from "react";
import { encodeWav } from "../lib/wav";

const MAX_SECONDS = 60;

/** Records from the microphone as lossless WAV, with a level meter, a timer and stop. */
export function Recorder({ onRecorded }: { onRecorded: (file: File) => void }) {
  const [recording, setRecording] = useState(false);
  const [level, setLevel] = useState(0);
  const [seconds, setSeconds] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const stopRef = useRef<(() => void) | null>(null);

  useEffect(() => () => stopRef.current?.(), []);

  async function start() {
    setError(null);
    let stream: MediaStream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false },
      });
    } catch {
      setError("The microphone is not available. Allow access in the browser, or drop a file.");
      return;
    }
    const context = new AudioContext();
    await context.audioWorklet.addModule("/capture-worklet.js");
    const source = context.createMediaStreamSource(stream);
    const capture = new AudioWorkletNode(context, "voxguard-capture");
    const chunks: Float32Array[] = [];
    let total = 0;
    capture.port.onmessage = (event: MessageEvent<Float32Array>) => {
      chunks.push(event.data);
      total += event.data.length;
      let sum = 0;
      for (const x of event.data) sum += x * x;
      const rms = Math.sqrt(sum / event.data.length);
      // dBFS mapped to 0..1 over -60..0 dB.
      setLevel(Math.max(0, Math.min(1, (20 * Math.log10(rms + 1e-9) + 60) / 60)));
      setSeconds(total / context.sampleRate);
      if (total / context.sampleRate >= MAX_SECONDS) stopRef.current?.();
    };
    source.connect(capture);
    const started = Date.now();
    setSeconds(0);
    setRecording(true);
    stopRef.current = () => {
      stopRef.current = null;
      source.disconnect();
      capture.disconnect();
      stream.getTracks().forEach((t) => t.stop());
      const samples = new Float32Array(total);
      let offset = 0;
      for (const chunk of chunks) {
        samples.set(chunk, offset);
        offset += chunk.length;
      }
      const rate = context.sampleRate;
      void context.close();
      setRecording(false);
      setLevel(0);
      const stamp = new Date(started).toISOString().replace(/[:.]/g, "-");
      onRecorded(new File([encodeWav(samples, rate)], `recording-${stamp}.wav`, { type: "audio/wav" }));
    };
  }

  return (
    <div className="recorder">
      {recording ? (
        <button type="button" className="stop" onClick={() => stopRef.current?.()}>
          ■ Stop recording
        </button>
      ) : (
        <button type="button" onClick={start}>
          ● Record from microphone
        </button>
      )}
      <label className="meter">
        <span>Level</span>
        <meter min={0} max={1} low={0.2} high={0.9} optimum={0.6} value={level} aria-label="Input level" />
      </label>
      <span className="timer" aria-live="polite" data-testid="record-timer">
        {seconds.toFixed(1)} s{recording ? " recording…" : ""}
      </span>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}
