import { useEffect, useState, type FormEvent } from "react";
import { Link, useLocation } from "react-router-dom";
import * as api from "../api";
import { AudioPicker } from "../components/AudioPicker";
import { ErrorMessage } from "../components/ErrorMessage";
import { Pager, when } from "../components/Pager";
import { pct } from "../components/Results";
import { useLoad } from "../components/useLoad";
import { useSession } from "../session";

const LIMIT = 25;

export function SpeakersPage() {
  const session = useSession();
  const location = useLocation();
  const [q, setQ] = useState("");
  const [search, setSearch] = useState("");
  const [offset, setOffset] = useState(0);
  const { data, error, loading, reload } = useLoad(() => api.speakers(offset, LIMIT, search), [offset, search]);
  const initial = (location.state as { enrollFile?: File } | null)?.enrollFile;

  return (
    <>
      <h1>Speakers</h1>
      {session.can("operator") && <EnrollForm initial={initial} onEnrolled={reload} />}
      <section className="card" aria-labelledby="speakers-title">
        <h2 id="speakers-title">Enrolled speakers</h2>
        <form
          className="filters"
          role="search"
          onSubmit={(e) => {
            e.preventDefault();
            setOffset(0);
            setSearch(q.trim());
          }}
        >
          <label htmlFor="speaker-search">Search by name or external id</label>
          <input id="speaker-search" type="search" value={q} onChange={(e) => setQ(e.target.value)} />
          <button type="submit">Search</button>
        </form>
        <ErrorMessage error={error} />
        {loading && !data && <p>Loading…</p>}
        {data && (
          <>
            <div className="table-wrap">
              <table data-testid="speakers-table">
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">External id</th>
                    <th scope="col">Recordings</th>
                    <th scope="col">Speech</th>
                    <th scope="col">Quality</th>
                    <th scope="col">Enrolled</th>
                  </tr>
                </thead>
                <tbody>
                  {data.items.map((s) => (
                    <tr key={s.id}>
                      <td>
                        <Link to={`/speakers/${s.id}`}>{s.display_name}</Link>
                      </td>
                      <td>{s.external_id ?? "—"}</td>
                      <td>{s.enrollment_count}</td>
                      <td>{s.speech_seconds.toFixed(1)} s</td>
                      <td>{pct(s.quality)}</td>
                      <td>{when(s.created_at)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            {!data.items.length && <p>No speakers {search ? `match “${search}”` : "enrolled yet"}.</p>}
            <Pager offset={offset} limit={LIMIT} count={data.items.length} total={data.total} onChange={setOffset} />
          </>
        )}
      </section>
    </>
  );
}

interface SampleState {
  file: File;
  status: "waiting" | "sending" | "done" | "failed";
  result?: api.Sample;
  error?: unknown;
}

/** Sends samples one at a time so each gets its own quality feedback and progress. */
export async function sendSamples(
  samples: SampleState[],
  update: (index: number, patch: Partial<SampleState>) => void,
  first: (file: File) => Promise<api.EnrollResult>,
  more: (id: string, file: File) => Promise<api.EnrollResult>,
  existingId?: string,
): Promise<api.Speaker | null> {
  let speaker: api.Speaker | null = null;
  let id = existingId;
  for (const [index, sample] of samples.entries()) {
    if (sample.status === "done") continue;
    update(index, { status: "sending", error: undefined });
    try {
      const result = id ? await more(id, sample.file) : await first(sample.file);
      speaker = result.speaker;
      id = result.speaker.id;
      update(index, { status: "done", result: result.samples[0] });
    } catch (error) {
      update(index, { status: "failed", error });
    }
  }
  return speaker;
}

export function SampleList({ samples }: { samples: SampleState[] }) {
  if (!samples.length) return null;
  const done = samples.filter((s) => s.status === "done" || s.status === "failed").length;
  return (
    <>
      <label className="progress">
        Progress
        <progress max={samples.length} value={done} />
        <span>
          {done} of {samples.length}
        </span>
      </label>
      <ul className="samples" data-testid="samples">
        {samples.map((s, i) => (
          <li key={`${s.file.name}-${i}`} className={s.status}>
            <strong>{s.file.name}</strong>: {s.status === "waiting" && "ready"}
            {s.status === "sending" && "sending…"}
            {s.status === "done" && s.result && (
              <>
                accepted, {s.result.speech_s.toFixed(1)} s of speech, quality {pct(s.result.quality.score)}
                {s.result.quality.messages.length ? ` (${s.result.quality.messages.join("; ")})` : ""}
              </>
            )}
            {s.status === "failed" && <ErrorMessage error={s.error} />}
          </li>
        ))}
      </ul>
    </>
  );
}

function EnrollForm(props: { initial?: File; onEnrolled: () => void }) {
  const [name, setName] = useState("");
  const [externalId, setExternalId] = useState("");
  const [samples, setSamples] = useState<SampleState[]>(
    props.initial ? [{ file: props.initial, status: "waiting" }] : [],
  );
  const [busy, setBusy] = useState(false);
  const [enrolled, setEnrolled] = useState<api.Speaker | null>(null);
  const [open, setOpen] = useState(Boolean(props.initial));

  useEffect(() => {
    if (props.initial) setOpen(true);
  }, [props.initial]);

  function update(index: number, patch: Partial<SampleState>) {
    setSamples((list) => list.map((s, i) => (i === index ? { ...s, ...patch } : s)));
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setEnrolled(null);
    const speaker = await sendSamples(
      samples,
      update,
      (file) => api.enroll(name.trim(), [file], externalId.trim() || undefined),
      (id, file) => api.addSamples(id, [file]),
    );
    setBusy(false);
    if (speaker) {
      setEnrolled(speaker);
      props.onEnrolled();
    }
  }

  return (
    <section className="card" aria-labelledby="enroll-title">
      <h2 id="enroll-title">
        <button type="button" className="disclosure" aria-expanded={open} onClick={() => setOpen(!open)}>
          {open ? "▾" : "▸"} Enroll a speaker
        </button>
      </h2>
      {open && (
        <form onSubmit={submit}>
          <div className="grid2">
            <span>
              <label htmlFor="enroll-name">Name</label>
              <input id="enroll-name" value={name} onChange={(e) => setName(e.target.value)} required maxLength={200} />
            </span>
            <span>
              <label htmlFor="enroll-external">External id (optional)</label>
              <input id="enroll-external" value={externalId} onChange={(e) => setExternalId(e.target.value)} maxLength={200} />
            </span>
          </div>
          <p className="hint">Several recordings of 5–30 s each give the most reliable voiceprint.</p>
          <AudioPicker
            multiple
            label="Drop recordings of this speaker or choose files"
            onFiles={(files) => setSamples((list) => [...list, ...files.map((file) => ({ file, status: "waiting" as const }))])}
          />
          <SampleList samples={samples} />
          <div className="actions">
            <button type="submit" disabled={busy || !name.trim() || !samples.some((s) => s.status !== "done")}>
              {busy ? "Enrolling…" : "Enroll"}
            </button>
            <button type="button" className="secondary" disabled={busy} onClick={() => { setSamples([]); setEnrolled(null); }}>
              Clear
            </button>
          </div>
          {enrolled && (
            <p className="success" role="status">
              Enrolled <Link to={`/speakers/${enrolled.id}`}>{enrolled.display_name}</Link> from{" "}
              {enrolled.enrollment_count} recording(s), {enrolled.speech_seconds.toFixed(1)} s of speech.
            </p>
          )}
        </form>
      )}
    </section>
  );
}
