import { useState } from "react";
import * as api from "../api";
import { ErrorMessage } from "../components/ErrorMessage";
import { when } from "../components/Pager";
import { useLoad } from "../components/useLoad";
import { useSession } from "../session";

export function AuditPage() {
  const session = useSession();
  const [entityId, setEntityId] = useState("");
  const [limit, setLimit] = useState(100);
  const log = useLoad(() => api.audit(limit, entityId || undefined), [limit, entityId]);
  if (!session.can("admin")) return <p>The audit log is for admins.</p>;
  return (
    <>
      <h1>Audit log</h1>
      <section className="card">
        <form className="filters" aria-label="Filter the audit log" onSubmit={(e) => e.preventDefault()}>
          <span>
            <label htmlFor="a-entity">Entity id</label>
            <input id="a-entity" value={entityId} onChange={(e) => setEntityId(e.target.value)} />
          </span>
          <span>
            <label htmlFor="a-limit">Show</label>
            <select id="a-limit" value={limit} onChange={(e) => setLimit(Number(e.target.value))}>
              {[50, 100, 500, 1000].map((n) => (
                <option key={n} value={n}>
                  latest {n}
                </option>
              ))}
            </select>
          </span>
        </form>
        <ErrorMessage error={log.error} />
        {log.data && (
          <div className="table-wrap">
            <table data-testid="audit-table">
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Actor</th>
                  <th scope="col">Action</th>
                  <th scope="col">Entity</th>
                  <th scope="col">Detail</th>
                </tr>
              </thead>
              <tbody>
                {log.data.map((a) => (
                  <tr key={a.id}>
                    <td>{when(a.at)}</td>
                    <td>{a.actor}</td>
                    <td>{a.action}</td>
                    <td>
                      {a.entity} {a.entity_id ?? ""}
                    </td>
                    <td>
                      <code>{JSON.stringify(a.detail)}</code>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </>
  );
}
