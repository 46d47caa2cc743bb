import { Line } from "react-chartjs-2";
import "../components/charts";
import { useSession } from "../session";
import { Registry } from "./Registry";

const fmt = (value: unknown) => (typeof value === "number" ? String(value) : JSON.stringify(value));

function Facts({ values }: { values: Record<string, unknown> }) {
  return (
    <dl className="profile">
      {Object.entries(values).map(([k, v]) => (
        <div key={k}>
          <dt>{k.replace(/_/g, " ")}</dt>
          <dd>{fmt(v)}</dd>
        </div>
      ))}
    </dl>
  );
}

export function ModelsPage() {
  const { info } = useSession();
  const det = info.spoof_operating_points;
  return (
    <>
      <h1>Models and settings</h1>
      <section className="card" aria-labelledby="models-title">
        <h2 id="models-title">Bundled models</h2>
        <div className="table-wrap">
        <table data-testid="models-table">
          <thead>
            <tr>
              <th scope="col">Model</th>
              <th scope="col">Status</th>
              <th scope="col">Version</th>
            </tr>
          </thead>
          <tbody>
            {Object.entries(info.models).map(([name, m]) => (
              <tr key={name}>
                <td>{name}</td>
                <td>{m.status}</td>
                <td>{m.version ?? m.reason ?? "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>
        </div>
        <p className="muted">
          VoxGuard {info.version} on {info.database}. You are signed in as <strong>{info.role}</strong>.
        </p>
      </section>
      <Registry />
      {det && det.points.length > 0 && (
        <section className="card" aria-labelledby="det-title">
          <h2 id="det-title">Spoof detector operating points</h2>
          <div className="det-chart" data-testid="det-curve">
            <Line
              role="img"
              aria-label="DET curve: genuine speech flagged against spoofs missed, per threshold"
              data={{
                datasets: [
                  {
                    label: "DET (out-of-fold, per threshold)",
                    data: det.points.map((p) => ({ x: p.false_alarm * 100, y: p.miss * 100 })),
                    borderColor: "#1d3a8a",
                    backgroundColor: "#1d3a8a",
                    pointRadius: det.points.map((p) => (p.threshold === info.thresholds.spoof_threshold ? 7 : 3)),
                  },
                ],
              }}
              options={{
                animation: false,
                maintainAspectRatio: false,
                parsing: false,
                scales: {
                  x: { type: "logarithmic", min: 0.5, max: 60, title: { display: true, text: "genuine speech flagged (%)" } },
                  y: { type: "logarithmic", min: 5, max: 90, title: { display: true, text: "spoofs missed (%)" } },
                },
                plugins: {
                  tooltip: {
                    callbacks: {
                      label: (ctx) => {
                        const p = det.points[ctx.dataIndex];
                        return `threshold ${p.threshold}: ${(p.false_alarm * 100).toFixed(1)}% flagged, ${(p.miss * 100).toFixed(1)}% missed`;
                      },
                    },
                  },
                },
              }}
            />
          </div>
          <div className="table-wrap">
          <table>
            <caption>
              {det.protocol} ({det.measured}); source: {det.source}
            </caption>
            <thead>
              <tr>
                <th scope="col">Threshold</th>
                <th scope="col">Genuine flagged</th>
                <th scope="col">Spoofs missed</th>
              </tr>
            </thead>
            <tbody>
              {det.points.map((p) => (
                <tr key={p.threshold} className={p.threshold === info.thresholds.spoof_threshold ? "current" : ""}>
                  <td>
                    {p.threshold}
                    {p.threshold === info.thresholds.spoof_threshold ? " (in use)" : ""}
                  </td>
                  <td>{(p.false_alarm * 100).toFixed(1)}%</td>
                  <td>{(p.miss * 100).toFixed(1)}%</td>
                </tr>
              ))}
            </tbody>
          </table>
          </div>
          <p className="hint">
            Raise <code>VOXGUARD_SPOOF_THRESHOLD</code> to flag fewer honest callers, at the cost of missing more fakes.
          </p>
        </section>
      )}
      <section className="card" aria-labelledby="thresholds-title">
        <h2 id="thresholds-title">Thresholds</h2>
        <Facts values={info.thresholds} />
      </section>
      <section className="card" aria-labelledby="limits-title">
        <h2 id="limits-title">Accepted formats and limits</h2>
        <p>{info.accepted_formats.join(", ")}</p>
        <Facts values={info.limits} />
      </section>
    </>
  );
}
