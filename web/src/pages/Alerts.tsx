import { useEffect, useState } from "react";
import { Link, useSearchParams } from "react-router-dom";
import * as api from "../api";
import { RISK_COLORS } from "../components/charts";
import { ErrorMessage } from "../components/ErrorMessage";
import { Pager, when } from "../components/Pager";
import { useLoad } from "../components/useLoad";
import { useSession } from "../session";

const LIMIT = 25;
const STATUSES: api.AlertStatus[] = ["PENDING", "ACKNOWLEDGED", "RESOLVED", "DISMISSED"];
const LEVELS = ["HIGH", "MEDIUM", "LOW"];
const NEXT: Record<api.AlertStatus, { to: api.AlertStatus; label: string }[]> = {
  PENDING: [
    { to: "ACKNOWLEDGED", label: "Acknowledge" },
    { to: "RESOLVED", label: "Resolve" },
    { to: "DISMISSED", label: "Dismiss" },
  ],
  ACKNOWLEDGED: [
    { to: "RESOLVED", label: "Resolve" },
    { to: "DISMISSED", label: "Dismiss" },
  ],
  RESOLVED: [],
  DISMISSED: [],
};

const toIso = (local: string) => (local ? new Date(local).toISOString() : undefined);

export function AlertsPage() {
  const session = useSession();
  const [params] = useSearchParams();
  const focus = params.get("focus");
  const [filters, setFilters] = useState({ status: "", level: "", speaker_id: "", since: "", until: "" });
  const [offset, setOffset] = useState(0);
  const [live, setLive] = useState(true);
  const query: api.AlertQuery = {
    status: filters.status || undefined,
    level: filters.level || undefined,
    speaker_id: filters.speaker_id || undefined,
    since: toIso(filters.since),
    until: toIso(filters.until),
  };
  const key = JSON.stringify(query);
  const list = useLoad(() => api.alerts({ ...query, offset, limit: LIMIT }), [key, offset]);
  const summary = useLoad(() => api.alertSummary(query), [key]);

  useEffect(() => {
    if (!live) return;
    const timer = window.setInterval(() => {
      list.reload();
      summary.reload();
    }, 10_000);
    return () => window.clearInterval(timer);
  }, [live, list.reload, summary.reload]);

  const set = (name: keyof typeof filters) => (e: { target: { value: string } }) => {
    setOffset(0);
    setFilters({ ...filters, [name]: e.target.value });
  };

  return (
    <>
      <h1>Alerts</h1>
      <section className="counts" aria-label="Alert counts">
        {LEVELS.map((level) => (
          <div key={level} className="count" style={{ borderColor: RISK_COLORS[level] }}>
            <span className="n" data-testid={`count-${level}`}>
              {summary.data?.by_level[level] ?? 0}
            </span>
            <span>{level}</span>
          </div>
        ))}
        {STATUSES.map((status) => (
          <div key={status} className="count">
            <span className="n" data-testid={`count-${status}`}>
              {summary.data?.by_status[status] ?? 0}
            </span>
            <span>{status.toLowerCase()}</span>
          </div>
        ))}
      </section>
      <section className="card">
        <form className="filters" aria-label="Filter alerts" onSubmit={(e) => e.preventDefault()}>
          <span>
            <label htmlFor="f-status">Status</label>
            <select id="f-status" value={filters.status} onChange={set("status")}>
              <option value="">any</option>
              {STATUSES.map((s) => (
                <option key={s}>{s}</option>
              ))}
            </select>
          </span>
          <span>
            <label htmlFor="f-level">Level</label>
            <select id="f-level" value={filters.level} onChange={set("level")}>
              <option value="">any</option>
              {LEVELS.map((s) => (
                <option key={s}>{s}</option>
              ))}
            </select>
          </span>
          <span>
            <label htmlFor="f-speaker">Speaker id</label>
            <input id="f-speaker" value={filters.speaker_id} onChange={set("speaker_id")} />
          </span>
          <span>
            <label htmlFor="f-since">From</label>
            <input id="f-since" type="datetime-local" value={filters.since} onChange={set("since")} />
          </span>
          <span>
            <label htmlFor="f-until">To</label>
            <input id="f-until" type="datetime-local" value={filters.until} onChange={set("until")} />
          </span>
          <label className="checkbox">
            <input type="checkbox" checked={live} onChange={(e) => setLive(e.target.checked)} /> Live refresh (10 s)
          </label>
        </form>
        <ErrorMessage error={list.error ?? summary.error} />
        {list.data && list.data.length === 0 && <p>No alerts match.</p>}
        {list.data && list.data.length > 0 && (
          <ul className="alerts" data-testid="alerts">
            {list.data.map((alert) => (
              <AlertRow
                key={alert.id}
                alert={alert}
                focused={alert.id === focus}
                canTriage={session.can("operator")}
                onChanged={() => {
                  list.reload();
                  summary.reload();
                }}
              />
            ))}
          </ul>
        )}
        {list.data && <Pager offset={offset} limit={LIMIT} count={list.data.length} onChange={setOffset} />}
      </section>
    </>
  );
}

function AlertRow(props: { alert: api.Alert; focused: boolean; canTriage: boolean; onChanged: () => void }) {
  const { alert } = props;
  const [note, setNote] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  async function change(status: api.AlertStatus) {
    setBusy(true);
    setError(null);
    try {
      await api.updateAlert(alert.id, status, note);
      setNote("");
      props.onChanged();
    } catch (exc) {
      setError(exc);
    } finally {
      setBusy(false);
    }
  }

  const actions = NEXT[alert.status];
  return (
    <li className={`alert-item level-${alert.level}${props.focused ? " focused" : ""}`} data-alert-id={alert.id}>
      <div className="alert-head">
        <span className="badge" style={{ background: RISK_COLORS[alert.level] }}>
          {alert.level}
        </span>
        <span className="status" data-testid="alert-status">
          {alert.status}
        </span>
        <span className="muted">{when(alert.created_at)}</span>
        {alert.event_id && <Link to={`/events/${alert.event_id}`}>event</Link>}
        {alert.speaker_id && <Link to={`/speakers/${alert.speaker_id}`}>speaker</Link>}
      </div>
      <p>{alert.reason}</p>
      {alert.note && (
        <p className="muted">
          Note by {alert.changed_by}: {alert.note}
        </p>
      )}
      {props.canTriage && actions.length > 0 && (
        <div className="triage">
          <label htmlFor={`note-${alert.id}`}>Note</label>
          <input id={`note-${alert.id}`} value={note} onChange={(e) => setNote(e.target.value)} maxLength={2000} />
          {actions.map((a) => (
            <button key={a.to} type="button" disabled={busy} onClick={() => change(a.to)}>
              {a.label}
            </button>
          ))}
        </div>
      )}
      <ErrorMessage error={error} />
    </li>
  );
}
