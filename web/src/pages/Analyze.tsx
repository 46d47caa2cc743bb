import { useState } from "react";
import { Link } from "react-router-dom";
import { Bar } from "react-chartjs-2";
import * as api from "../api";
import { AudioPicker } from "../components/AudioPicker";
import { RISK_COLORS } from "../components/charts";
import "../components/charts";
import { ErrorMessage } from "../components/ErrorMessage";
import { pct } from "../components/Results";
import { RiskGauge } from "../components/RiskGauge";
import { WaveView } from "../components/WaveView";
import { useSession } from "../session";

const HUMAN = "#1d3a8a";
const SYNTHETIC = "#b3261e";

const nameOf = (s: { speaker: string; display_name: string | null }) =>
  s.display_name ? `${s.speaker} · ${s.display_name}` : `${s.speaker} · unknown`;

/** Who spoke when, as bars on the recording's time axis; synthetic turns in red. */
function TurnChart({ result }: { result: api.AnalyzeResult }) {
  const labels = result.speakers.map(nameOf);
  const index = Object.fromEntries(result.speakers.map((s, i) => [s.speaker, labels[i]]));
  return (
    <div className="turn-chart" data-testid="turn-chart" style={{ height: 60 + 36 * labels.length }}>
      <Bar
        role="img"
        aria-label="Speaker turns over the recording; synthetic turns in red"
        data={{
          labels,
          datasets: [
            {
              label: "turn",
              data: result.turns.map((t) => ({ x: [t.start_s, t.end_s], y: index[t.speaker] })) as never,
              backgroundColor: result.turns.map((t) => (t.is_synthetic ? SYNTHETIC : HUMAN)),
              borderSkipped: false,
              grouped: false,
              barPercentage: 0.8,
            },
          ],
        }}
        options={{
          indexAxis: "y",
          animation: false,
          maintainAspectRatio: false,
          scales: {
            x: { type: "linear", min: 0, max: result.duration_s, title: { display: true, text: "seconds" } },
          },
          plugins: {
            legend: { display: false },
            tooltip: {
              callbacks: {
                label: (ctx) => {
                  const t = result.turns[ctx.dataIndex];
                  return `${t.start_s.toFixed(1)}-${t.end_s.toFixed(1)} s, P(synthetic) ${pct(t.spoof_probability)}${t.overlap ? ", overlap" : ""}`;
                },
              },
            },
          },
        }}
      />
    </div>
  );
}

export function AnalyzePage() {
  const session = useSession();
  const [file, setFile] = useState<File | null>(null);
  const [speakers, setSpeakers] = useState("");
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<api.AnalyzeResult | null>(null);
  const [error, setError] = useState<unknown>(null);

  async function run() {
    if (!file) return;
    setBusy(true);
    setError(null);
    setResult(null);
    try {
      setResult(await api.analyze(file, speakers ? Number(speakers) : undefined));
    } catch (exc) {
      setError(exc);
    } finally {
      setBusy(false);
    }
  }

  return (
    <>
      <h1>Analyze a conversation</h1>
      {!session.can("operator") && <p className="notice">Analysis needs an operator or admin key.</p>}
      <section className="card" aria-label="Recording">
        <AudioPicker
          label="Drop a call recording here or choose a file"
          onFiles={(files) => {
            setFile(files[0]);
            setResult(null);
          }}
        />
        {file && <p>Chosen: {file.name}</p>}
        <div className="actions">
          <label htmlFor="num-speakers">Speakers (if known)</label>
          <input
            id="num-speakers"
            type="number"
            min={1}
            max={20}
            value={speakers}
            onChange={(e) => setSpeakers(e.target.value)}
            style={{ width: "6em" }}
          />
          <button type="button" disabled={!file || busy || !session.can("operator")} onClick={run}>
            {busy ? "Analyzing…" : "Analyze"}
          </button>
        </div>
      </section>
      <ErrorMessage error={error} />
      {result && (
        <section className={`card result level-${result.risk.level}`} data-testid="analysis">
          <div className="result-head">
            <RiskGauge score={result.risk.score} level={result.risk.level} />
            <div>
              <h2>
                {result.num_speakers} speaker(s) in {result.duration_s.toFixed(1)} s: {result.risk.verdict}
              </h2>
              {result.alert_ids.map((id) => (
                <p key={id}>
                  <Link to={`/alerts?focus=${id}`}>An alert was raised</Link>.
                </p>
              ))}
            </div>
          </div>
          <TurnChart result={result} />
          <div className="table-wrap">
            <table data-testid="speaker-summary">
              <caption>Speakers</caption>
              <thead>
                <tr>
                  <th scope="col">Speaker</th>
                  <th scope="col">Identified as</th>
                  <th scope="col">Speech</th>
                  <th scope="col">Turns</th>
                  <th scope="col">P(synthetic)</th>
                  <th scope="col">Risk</th>
                </tr>
              </thead>
              <tbody>
                {result.speakers.map((s) => (
                  <tr key={s.speaker}>
                    <td>{s.speaker}</td>
                    <td>
                      {s.speaker_id ? <Link to={`/speakers/${s.speaker_id}`}>{s.display_name}</Link> : "unknown"}
                    </td>
                    <td>{s.speech_s.toFixed(1)} s</td>
                    <td>{s.turns}</td>
                    <td>
                      {pct(s.spoof_probability)}
                      {s.is_synthetic ? " · synthetic" : ""}
                    </td>
                    <td>
                      <span className="badge" style={{ background: RISK_COLORS[s.risk.level] }}>
                        {s.risk.level}
                      </span>{" "}
                      {s.risk.verdict}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <details>
            <summary>All {result.turns.length} turns</summary>
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col">From</th>
                    <th scope="col">To</th>
                    <th scope="col">Speaker</th>
                    <th scope="col">P(synthetic)</th>
                  </tr>
                </thead>
                <tbody>
                  {result.turns.map((t) => (
                    <tr key={`${t.speaker}-${t.start_s}`}>
                      <td>{t.start_s.toFixed(2)} s</td>
                      <td>{t.end_s.toFixed(2)} s</td>
                      <td>{nameOf(t)}{t.overlap ? " (overlap)" : ""}</td>
                      <td>
                        {pct(t.spoof_probability)}
                        {t.is_synthetic ? " · synthetic" : ""}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </details>
        </section>
      )}
      {file && <WaveView file={file} />}
    </>
  );
}
