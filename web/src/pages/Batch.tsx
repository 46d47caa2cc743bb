import { useState } from "react";
import * as api from "../api";
import { AudioPicker } from "../components/AudioPicker";
import { ErrorMessage } from "../components/ErrorMessage";
import { pct } from "../components/Results";
import { download } from "../lib/download";
import { useSession } from "../session";

interface Row {
  file: File;
  status: "queued" | "running" | "done" | "failed";
  result?: api.DetectResult;
  error?: unknown;
}

const cell = (value: unknown) => {
  const text = value == null ? "" : String(value);
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
};

function toCsv(rows: Row[]): string {
  const head = ["file", "status", "spoof_probability", "is_synthetic", "threshold", "channel", "speech_s", "quality", "error", "event_id"];
  const lines = rows.map((r) =>
    [
      r.file.name,
      r.status,
      r.result?.spoof.spoof_probability,
      r.result?.spoof.is_synthetic,
      r.result?.spoof.threshold,
      r.result?.spoof.channel,
      r.result?.quality.speech_s,
      r.result?.quality.score,
      r.error instanceof Error ? r.error.message : "",
      r.result?.event_id,
    ]
      .map(cell)
      .join(","),
  );
  return [head.join(","), ...lines].join("\n") + "\n";
}

/** Many files through the detector, one request each, so the table fills in as they finish. */
export function BatchPage() {
  const session = useSession();
  const [rows, setRows] = useState<Row[]>([]);
  const [busy, setBusy] = useState(false);

  async function run() {
    setBusy(true);
    for (let i = 0; i < rows.length; i++) {
      if (rows[i].status === "done") continue;
      setRows((list) => list.map((r, j) => (j === i ? { ...r, status: "running", error: undefined } : r)));
      try {
        const result = await api.detect(rows[i].file);
        setRows((list) => list.map((r, j) => (j === i ? { ...r, status: "done", result } : r)));
      } catch (error) {
        setRows((list) => list.map((r, j) => (j === i ? { ...r, status: "failed", error } : r)));
      }
    }
    setBusy(false);
  }


  const finished = rows.filter((r) => r.status === "done" || r.status === "failed").length;
  const flagged = rows.filter((r) => r.result?.spoof.is_synthetic).length;

  return (
    <>
      <h1>Batch detect</h1>
      {!session.can("operator") && <p className="notice">Detection needs an operator or admin key.</p>}
      <section className="card">
        <AudioPicker multiple onFiles={(files) => setRows((list) => [...list, ...files.map((file) => ({ file, status: "queued" as const }))])} />
        <div className="actions">
          <button type="button" disabled={busy || !session.can("operator") || !rows.some((r) => r.status !== "done")} onClick={run}>
            {busy ? "Detecting…" : `Detect ${rows.filter((r) => r.status !== "done").length} file(s)`}
          </button>
          <button type="button" className="secondary" disabled={!finished} onClick={() => download(toCsv(rows), "voxguard-detect.csv", "text/csv")}>
            Download CSV
          </button>
          <button type="button" className="secondary" disabled={busy} onClick={() => setRows([])}>
            Clear
          </button>
        </div>
        {rows.length > 0 && (
          <label className="progress">
            Progress
            <progress max={rows.length} value={finished} />
            <span data-testid="batch-progress">
              {finished} of {rows.length} done, {flagged} flagged synthetic
            </span>
          </label>
        )}
      </section>
      {rows.length > 0 && (
        <section className="card">
          <div className="table-wrap">
            <table data-testid="batch-table">
              <thead>
                <tr>
                  <th scope="col">File</th>
                  <th scope="col">Status</th>
                  <th scope="col">Verdict</th>
                  <th scope="col">P(synthetic)</th>
                  <th scope="col">Channel</th>
                  <th scope="col">Speech</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((r, i) => (
                  <tr key={`${r.file.name}-${i}`}>
                    <td>{r.file.name}</td>
                    <td>{r.status}</td>
                    <td>
                      {r.result
                        ? r.result.spoof.is_synthetic
                          ? "synthetic"
                          : r.result.spoof.status === "ok"
                            ? "live human"
                            : "unavailable"
                        : ""}
                      {r.status === "failed" && <ErrorMessage error={r.error} />}
                    </td>
                    <td>{r.result ? pct(r.result.spoof.spoof_probability) : ""}</td>
                    <td>{r.result?.spoof.channel ?? ""}</td>
                    <td>{r.result ? `${r.result.quality.speech_s.toFixed(1)} s` : ""}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      )}
    </>
  );
}
