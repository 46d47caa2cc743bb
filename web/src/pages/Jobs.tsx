import { useEffect, useState } from "react";
import * as api from "../api";
import { AudioPicker } from "../components/AudioPicker";
import { ErrorMessage } from "../components/ErrorMessage";
import { Pager, when } from "../components/Pager";
import { useAction, useLoad } from "../components/useLoad";
import { download } from "../lib/download";
import { useSession } from "../session";

const LIMIT = 25;
const STATUSES = ["queued", "running", "succeeded", "failed", "cancelled"];

/** Background jobs: long work (many files, long recordings) queued on the server. */
export function JobsPage() {
  const session = useSession();
  const [status, setStatus] = useState("");
  const [offset, setOffset] = useState(0);
  const [files, setFiles] = useState<File[]>([]);
  const [kind, setKind] = useState<"detect" | "analyze">("detect");
  const [busy, setBusy] = useState(false);
  const list = useLoad(() => api.jobs(status || undefined, offset, LIMIT), [status, offset]);
  const { error, setError, act } = useAction(list.reload);

  const active = list.data?.items.some((j) => j.status === "queued" || j.status === "running");
  useEffect(() => {
    if (!active) return;
    const timer = window.setInterval(list.reload, 2000);
    return () => window.clearInterval(timer);
  }, [active, list.reload]);

  async function submit() {
    setBusy(true);
    setError(null);
    try {
      await api.createJob(kind, files);
      setFiles([]);
      list.reload();
    } catch (exc) {
      setError(exc);
    } finally {
      setBusy(false);
    }
  }


  return (
    <>
      <h1>Background jobs</h1>
      {session.can("operator") && (
        <section className="card" aria-labelledby="new-job">
          <h2 id="new-job">New job</h2>
          <p className="hint">
            For many files or long recordings: the server works through them in the background;
            this page follows the progress.
          </p>
          <AudioPicker multiple label="Drop recordings (or one .zip) here or choose files" onFiles={(f) => setFiles((l) => [...l, ...f])} />
          {files.length > 0 && <p data-testid="job-files">{files.length} file(s): {files.map((f) => f.name).join(", ")}</p>}
          <div className="actions">
            <label htmlFor="job-kind">Work</label>
            <select id="job-kind" value={kind} onChange={(e) => setKind(e.target.value as "detect" | "analyze")}>
              <option value="detect">detect synthetic speech</option>
              <option value="analyze">analyze conversations</option>
            </select>
            <button type="button" disabled={!files.length || busy} onClick={submit}>
              {busy ? "Sending…" : "Start job"}
            </button>
            <button type="button" className="secondary" disabled={!files.length || busy} onClick={() => setFiles([])}>
              Clear
            </button>
          </div>
        </section>
      )}
      <ErrorMessage error={error ?? list.error} />
      <section className="card" aria-labelledby="jobs-title">
        <h2 id="jobs-title">Jobs</h2>
        <form className="filters" aria-label="Filter jobs" onSubmit={(e) => e.preventDefault()}>
          <span>
            <label htmlFor="job-status">Status</label>
            <select id="job-status" value={status} onChange={(e) => { setOffset(0); setStatus(e.target.value); }}>
              <option value="">any</option>
              {STATUSES.map((s) => (
                <option key={s}>{s}</option>
              ))}
            </select>
          </span>
        </form>
        {list.data && list.data.items.length === 0 && <p>No jobs yet.</p>}
        {list.data && list.data.items.length > 0 && (
          <div className="table-wrap">
            <table data-testid="jobs-table">
              <thead>
                <tr>
                  <th scope="col">Created</th>
                  <th scope="col">Work</th>
                  <th scope="col">Status</th>
                  <th scope="col">Progress</th>
                  <th scope="col">By</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {list.data.items.map((job) => (
                  <tr key={job.id}>
                    <td>{when(job.created_at)}</td>
                    <td>{job.kind}</td>
                    <td data-testid="job-status">
                      {job.status}
                      {job.error ? `: ${job.error}` : ""}
                    </td>
                    <td>
                      <progress max={Math.max(job.progress.total, 1)} value={job.progress.done} aria-label={`Job ${job.id} progress`} />{" "}
                      {job.progress.done} / {job.progress.total}
                      {job.progress.failed ? `, ${job.progress.failed} failed` : ""}
                    </td>
                    <td>{job.created_by}</td>
                    <td className="triage">
                      {job.status === "succeeded" &&
                        (["csv", "jsonl"] as const).map((format) => (
                          <button
                            key={format}
                            type="button"
                            className="secondary"
                            onClick={() =>
                              act(async () =>
                                download(await api.jobResults(job.id, format), `voxguard-job-${job.id}.${format}`, format === "csv" ? "text/csv" : "application/x-ndjson"),
                              )
                            }
                          >
                            {format.toUpperCase()}
                          </button>
                        ))}
                      {(job.status === "queued" || job.status === "running") && session.can("operator") && (
                        <button type="button" className="danger" onClick={() => act(() => api.cancelJob(job.id))}>
                          Cancel
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {list.data && (
          <Pager offset={offset} limit={LIMIT} count={list.data.items.length} total={list.data.total} onChange={setOffset} />
        )}
      </section>
    </>
  );
}
