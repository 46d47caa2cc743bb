import { useState } from "react";
import { Link, useParams } from "react-router-dom";
import * as api from "../api";
import { ErrorMessage } from "../components/ErrorMessage";
import { Pager, when } from "../components/Pager";
import { useLoad } from "../components/useLoad";

const LIMIT = 25;
const OPERATIONS = ["check", "verify", "identify", "detect", "enroll"];

export function EventsPage() {
  const [operation, setOperation] = useState("");
  const [speakerId, setSpeakerId] = useState("");
  const [offset, setOffset] = useState(0);
  const list = useLoad(
    () => api.events({ operation: operation || undefined, speaker_id: speakerId || undefined, offset, limit: LIMIT }),
    [operation, speakerId, offset],
  );
  return (
    <>
      <h1>Events</h1>
      <section className="card">
        <form className="filters" aria-label="Filter events" onSubmit={(e) => e.preventDefault()}>
          <span>
            <label htmlFor="e-op">Operation</label>
            <select id="e-op" value={operation} onChange={(e) => { setOffset(0); setOperation(e.target.value); }}>
              <option value="">any</option>
              {OPERATIONS.map((o) => (
                <option key={o}>{o}</option>
              ))}
            </select>
          </span>
          <span>
            <label htmlFor="e-speaker">Speaker id</label>
            <input id="e-speaker" value={speakerId} onChange={(e) => { setOffset(0); setSpeakerId(e.target.value); }} />
          </span>
        </form>
        <ErrorMessage error={list.error} />
        {list.data && (
          <div className="table-wrap">
            <table data-testid="events-table">
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Operation</th>
                  <th scope="col">Caller</th>
                  <th scope="col">Decision</th>
                  <th scope="col">Verdict</th>
                  <th scope="col">Risk</th>
                  <th scope="col">File</th>
                </tr>
              </thead>
              <tbody>
                {list.data.map((e) => (
                  <tr key={e.id}>
                    <td>
                      <Link to={`/events/${e.id}`}>{when(e.created_at)}</Link>
                    </td>
                    <td>{e.operation}</td>
                    <td>{e.caller}</td>
                    <td>{e.decision}</td>
                    <td>{e.verdict ?? "—"}</td>
                    <td>{e.risk_level ? `${e.risk_level} (${e.risk_score?.toFixed(2)})` : "—"}</td>
                    <td>{String(e.audio.filename ?? "—")}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {list.data && <Pager offset={offset} limit={LIMIT} count={list.data.length} onChange={setOffset} />}
      </section>
    </>
  );
}

export function EventDetail() {
  const { id = "" } = useParams();
  const event = useLoad(() => api.event(id), [id]);
  if (event.error) return <ErrorMessage error={event.error} />;
  if (!event.data) return <p>Loading…</p>;
  const e = event.data;
  return (
    <>
      <p>
        <Link to="/events">← Events</Link>
      </p>
      <h1>
        Event: {e.operation} at {when(e.created_at)}
      </h1>
      <section className="card">
        <dl className="metrics">
          <div>
            <dt>Decision</dt>
            <dd>{e.decision}</dd>
          </div>
          <div>
            <dt>Verdict</dt>
            <dd>{e.verdict ?? "—"}</dd>
          </div>
          <div>
            <dt>Risk</dt>
            <dd>{e.risk_level ? `${e.risk_level} (${e.risk_score?.toFixed(2)})` : "—"}</dd>
          </div>
          <div>
            <dt>Caller</dt>
            <dd>{e.caller}</dd>
          </div>
          <div>
            <dt>Speaker</dt>
            <dd>{e.speaker_id ? <Link to={`/speakers/${e.speaker_id}`}>{e.speaker_id}</Link> : "—"}</dd>
          </div>
        </dl>
        <h2>Scores</h2>
        <pre className="json">{JSON.stringify(e.scores, null, 2)}</pre>
        <h2>Audio</h2>
        <pre className="json">{JSON.stringify(e.audio, null, 2)}</pre>
      </section>
    </>
  );
}
