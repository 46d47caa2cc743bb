import { useEffect, useRef, useState } from "react";
import WaveSurfer from "wavesurfer.js";
import Spectrogram from "wavesurfer.js/dist/plugins/spectrogram.esm.js";
import Timeline from "wavesurfer.js/dist/plugins/timeline.esm.js";
import { Line } from "react-chartjs-2";
import "./charts";
import type { SpoofWindow } from "../api";

/**
 * The recording as waveform and spectrogram, and under them the detector's per-window
 * P(synthetic) on the same time axis (seconds from the start of the file).
 */
export function WaveView(props: { file: File; windows?: SpoofWindow[]; threshold?: number | null }) {
  const waveRef = useRef<HTMLDivElement>(null);
  const [duration, setDuration] = useState<number | null>(null);
  const [player, setPlayer] = useState<WaveSurfer | null>(null);
  const [playing, setPlaying] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (!waveRef.current) return;
    const url = URL.createObjectURL(props.file);
    const ws = WaveSurfer.create({
      container: waveRef.current,
      height: 80,
      waveColor: "#5b6b8c",
      progressColor: "#1d3a8a",
      cursorColor: "#111",
      normalize: true,
      sampleRate: 16000,
      plugins: [
        Timeline.create({ height: 16 }),
        Spectrogram.create({ labels: true, height: 140, frequencyMax: 8000, fftSamples: 512 }),
      ],
    });
    ws.on("ready", (d) => setDuration(d));
    ws.on("play", () => setPlaying(true));
    ws.on("pause", () => setPlaying(false));
    ws.on("error", () => setError("The browser cannot draw this file; the server may still read it."));
    ws.load(url).catch(() => undefined);
    setPlayer(ws);
    return () => {
      ws.destroy();
      URL.revokeObjectURL(url);
    };
  }, [props.file]);

  const windows = props.windows ?? [];
  const end = duration ?? Math.max(0, ...windows.map((w) => w.end_s));
  // One flat segment per window (windows overlap by half), gaps between them.
  const points = windows.flatMap((w) => [
    { x: w.start_s, y: w.probability },
    { x: w.end_s, y: w.probability },
    { x: w.end_s, y: null },
  ]);

  return (
    <figure className="waveview">
      <div className="wave-controls">
        <button type="button" onClick={() => player?.playPause()} disabled={!player || !duration}>
          {playing ? "Pause" : "Play"}
        </button>
        <span className="muted">{props.file.name}</span>
        {duration !== null && <span className="muted">{duration.toFixed(1)} s</span>}
      </div>
      <div ref={waveRef} data-testid="waveform" aria-label="Waveform and spectrogram" role="img" />
      {error && <p className="muted">{error}</p>}
      {windows.length > 0 && (
        <div className="timeline-chart" data-testid="spoof-timeline">
          <Line
            aria-label="P(synthetic) per 4-second window over the recording"
            role="img"
            data={{
              datasets: [
                {
                  label: "P(synthetic) per 4 s window",
                  data: points,
                  borderColor: "#b3261e",
                  backgroundColor: "#b3261e",
                  borderWidth: 3,
                  fill: false,
                  spanGaps: false,
                  pointRadius: 2,
                },
                ...(props.threshold != null
                  ? [
                      {
                        label: "threshold",
                        data: [
                          { x: 0, y: props.threshold },
                          { x: end, y: props.threshold },
                        ],
                        borderColor: "#444",
                        borderDash: [4, 4],
                        pointRadius: 0,
                      },
                    ]
                  : []),
              ],
            }}
            options={{
              animation: false,
              maintainAspectRatio: false,
              parsing: false,
              layout: { padding: 0 },
              scales: {
                x: {
                  type: "linear",
                  min: 0,
                  max: end || undefined,
                  ticks: { align: "inner" },
                  title: { display: true, text: "seconds" },
                },
                // Labels inside the plot: its width is the waveform's, so times line up.
                y: { min: 0, max: 1, ticks: { mirror: true, stepSize: 0.5 }, grid: { drawTicks: false } },
              },
              plugins: { legend: { position: "bottom" } },
            }}
          />
        </div>
      )}
      <figcaption className="muted">
        {windows.length
          ? "Waveform, spectrogram (0–8 kHz) and, under them, the detector's probability for each 4 s window of speech, on the recording's own time axis."
          : "Waveform and spectrogram (0–8 kHz)."}
      </figcaption>
    </figure>
  );
}
