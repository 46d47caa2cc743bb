import { useState, type FormEvent } from "react";
import * as api from "../api";
import { ErrorMessage } from "../components/ErrorMessage";

export function SignIn(props: { notice: string | null; onSignedIn: (info: api.Info) => void }) {
  const [key, setKey] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      props.onSignedIn(await api.signIn(key));
    } catch (exc) {
      setError(exc);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="card signin" aria-labelledby="signin-title">
      <h1 id="signin-title">
        <span aria-hidden="true">◉</span> VoxGuard
      </h1>
      <p className="muted">Who is speaking, and is it a live human?</p>
      {props.notice && <p className="notice">{props.notice}</p>}
      <form onSubmit={submit}>
        <label htmlFor="api-key">API key</label>
        <input
          id="api-key"
          type="password"
          autoComplete="off"
          placeholder="vg_…"
          value={key}
          onChange={(e) => setKey(e.target.value)}
          required
        />
        <p className="hint">
          The first start of <code>voxguard serve</code> prints the admin key. The key is exchanged
          for a short-lived token kept in this tab only.
        </p>
        <button type="submit" disabled={busy || !key.trim()}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
      <ErrorMessage error={error} />
    </section>
  );
}
