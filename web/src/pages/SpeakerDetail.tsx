import { useState } from "react";
import { Link, useNavigate, useParams } from "react-router-dom";
import * as api from "../api";
import { AudioPicker } from "../components/AudioPicker";
import { ErrorMessage } from "../components/ErrorMessage";
import { when } from "../components/Pager";
import { pct } from "../components/Results";
import { useLoad } from "../components/useLoad";
import { useSession } from "../session";
import { SampleList, sendSamples } from "./Speakers";

export function SpeakerDetail() {
  const { id = "" } = useParams();
  const session = useSession();
  const navigate = useNavigate();
  const speaker = useLoad(() => api.speaker(id), [id]);
  const recent = useLoad(() => api.events({ speaker_id: id, limit: 10 }), [id]);
  const [samples, setSamples] = useState<{ file: File; status: "waiting" | "sending" | "done" | "failed" }[]>([]);
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  if (speaker.error) return <ErrorMessage error={speaker.error} />;
  if (!speaker.data) return <p>Loading…</p>;
  const s = speaker.data;

  async function addSamples() {
    setBusy(true);
    await sendSamples(
      samples,
      (index, patch) => setSamples((list) => list.map((x, i) => (i === index ? { ...x, ...patch } : x))),
      () => Promise.reject(new Error("unreachable")),
      (speakerId, file) => api.addSamples(speakerId, [file]),
      id,
    );
    setBusy(false);
    speaker.reload();
  }

  async function remove() {
    setError(null);
    try {
      await api.deleteSpeaker(id);
      navigate("/speakers");
    } catch (exc) {
      setError(exc);
    }
  }

  return (
    <>
      <p>
        <Link to="/speakers">← Speakers</Link>
      </p>
      <h1>{s.display_name}</h1>
      <section className="card">
        <dl className="metrics">
          <div>
            <dt>Recordings enrolled</dt>
            <dd data-testid="enrollment-count">{s.enrollment_count}</dd>
          </div>
          <div>
            <dt>Speech</dt>
            <dd>{s.speech_seconds.toFixed(1)} s</dd>
          </div>
          <div>
            <dt>Enrollment quality</dt>
            <dd>{pct(s.quality)}</dd>
          </div>
          <div>
            <dt>External id</dt>
            <dd>{s.external_id ?? "—"}</dd>
          </div>
          <div>
            <dt>Enrolled</dt>
            <dd>{when(s.created_at)}</dd>
          </div>
          <div>
            <dt>Updated</dt>
            <dd>{when(s.updated_at)}</dd>
          </div>
        </dl>
        <h2>Behavior profile</h2>
        {s.behavior_profile ? (
          <dl className="profile">
            {Object.entries(s.behavior_profile).map(([key, value]) => (
              <div key={key}>
                <dt>{key.replace(/_/g, " ")}</dt>
                <dd>{typeof value === "number" ? value.toFixed(3) : JSON.stringify(value)}</dd>
              </div>
            ))}
          </dl>
        ) : (
          <p>No behavior profile yet.</p>
        )}
      </section>
      {session.can("operator") && (
        <section className="card" aria-labelledby="add-title">
          <h2 id="add-title">Add recordings</h2>
          <AudioPicker
            multiple
            onFiles={(files) => setSamples((list) => [...list, ...files.map((file) => ({ file, status: "waiting" as const }))])}
          />
          <SampleList samples={samples} />
          <button type="button" disabled={busy || !samples.some((x) => x.status !== "done")} onClick={addSamples}>
            {busy ? "Adding…" : "Add to voiceprint"}
          </button>
        </section>
      )}
      <section className="card" aria-labelledby="recent-title">
        <h2 id="recent-title">Recent events</h2>
        <ErrorMessage error={recent.error} />
        {recent.data && recent.data.length === 0 && <p>No events for this speaker yet.</p>}
        {recent.data && recent.data.length > 0 && (
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Operation</th>
                  <th scope="col">Decision</th>
                  <th scope="col">Risk</th>
                </tr>
              </thead>
              <tbody>
                {recent.data.map((e) => (
                  <tr key={e.id}>
                    <td>
                      <Link to={`/events/${e.id}`}>{when(e.created_at)}</Link>
                    </td>
                    <td>{e.operation}</td>
                    <td>{e.decision}</td>
                    <td>{e.risk_level ?? "—"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      {session.can("admin") && (
        <section className="card danger" aria-labelledby="delete-title">
          <h2 id="delete-title">Delete this speaker</h2>
          <p>Deletes the voiceprint and the behavior profile. Events and alerts stay.</p>
          {!confirming ? (
            <button type="button" className="danger" onClick={() => setConfirming(true)}>
              Delete…
            </button>
          ) : (
            <div role="alertdialog" aria-labelledby="confirm-text" className="confirm">
              <p id="confirm-text">
                Delete <strong>{s.display_name}</strong> for good? This cannot be undone.
              </p>
              <button type="button" className="danger" onClick={remove}>
                Yes, delete
              </button>
              <button type="button" className="secondary" onClick={() => setConfirming(false)}>
                Cancel
              </button>
            </div>
          )}
          <ErrorMessage error={error} />
        </section>
      )}
    </>
  );
}
