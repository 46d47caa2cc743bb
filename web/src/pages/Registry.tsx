import * as api from "../api";
import { ErrorMessage } from "../components/ErrorMessage";
import { when } from "../components/Pager";
import { pct } from "../components/Results";
import { useAction, useLoad } from "../components/useLoad";
import { useSession } from "../session";

function eerOf(metrics: Record<string, unknown>, part: string): [number | null, number | null] {
  const block = metrics[part] as { eer?: number; base_eer?: number } | null | undefined;
  return [block?.eer ?? null, block?.base_eer ?? null];
}

/** Spoof detector versions: the bundled one, retrained candidates; promote and roll back. */
export function Registry() {
  const session = useSession();
  const list = useLoad(() => api.models(), []);
  const { error, act } = useAction(list.reload);


  return (
    <section className="card" aria-labelledby="registry-title">
      <h2 id="registry-title">Model versions</h2>
      <p className="hint">
        Retrain from labelled datasets with <code>voxguard retrain --data DIR</code> or{" "}
        <code>POST /v1/models/spoof/retrain</code>; a candidate is promoted only when it does not
        measure worse than the active model on the same recordings.
      </p>
      <ErrorMessage error={error ?? list.error} />
      {list.data && (
        <div className="table-wrap">
          <table data-testid="registry-table">
            <thead>
              <tr>
                <th scope="col">Version</th>
                <th scope="col">Status</th>
                <th scope="col">Parent</th>
                <th scope="col">Held-out EER (parent)</th>
                <th scope="col">Regression EER (parent)</th>
                <th scope="col">Created</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {list.data.map((m) => {
                const [held, heldBase] = eerOf(m.metrics, "held_out");
                const [reg, regBase] = eerOf(m.metrics, "regression_set");
                return (
                  <tr key={`${m.kind}-${m.version}`}>
                    <td>
                      {m.kind} {m.version}
                    </td>
                    <td>{m.status}</td>
                    <td>{m.parent ?? "—"}</td>
                    <td>{held == null ? "—" : `${pct(held, 1)} (${pct(heldBase, 1)})`}</td>
                    <td>{reg == null ? "—" : `${pct(reg, 1)} (${pct(regBase, 1)})`}</td>
                    <td>{when(m.created_at)}</td>
                    <td className="triage">
                      {session.can("admin") && m.status === "candidate" && (
                        <>
                          <button type="button" onClick={() => act(() => api.promoteModel(m.kind, m.version, false))}>
                            Promote
                          </button>
                          <button type="button" className="secondary" onClick={() => act(() => api.promoteModel(m.kind, m.version, true))}>
                            Promote anyway
                          </button>
                        </>
                      )}
                      {session.can("admin") && m.status === "active" && m.version !== "bundled" && (
                        <button type="button" className="secondary" onClick={() => act(() => api.rollbackModel(m.kind))}>
                          Roll back
                        </button>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
