import { useCallback, useEffect, useState } from "react";

/** Loads `load()` now and whenever `deps` change; `reload` loads again. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]) {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const run = useCallback(load, deps);
  const reload = useCallback(() => {
    setLoading(true);
    run()
      .then((value) => {
        setData(value);
        setError(null);
      })
      .catch(setError)
      .finally(() => setLoading(false));
  }, [run]);
  useEffect(reload, [reload]);
  return { data, error, loading, reload };
}

/** Runs an action, then ``after`` (a reload); its error, if any, for an ErrorMessage. */
export function useAction(after: () => void) {
  const [error, setError] = useState<unknown>(null);
  const act = useCallback(
    async (action: () => Promise<unknown>) => {
      setError(null);
      try {
        await action();
        after();
      } catch (exc) {
        setError(exc);
      }
    },
    [after],
  );
  return { error, setError, act };
}
