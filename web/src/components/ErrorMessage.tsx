import { ApiError } from "../api";

/** An error in words, announced to screen readers; the API's message names what was wrong. */
export function ErrorMessage({ error }: { error: unknown }) {
  if (!error) return null;
  const message =
    error instanceof ApiError || error instanceof Error ? error.message : String(error);
  const accepted =
    error instanceof ApiError && error.detail && typeof error.detail === "object"
      ? (error.detail as Record<string, unknown>).accepted
      : undefined;
  return (
    <div className="error" role="alert">
      <strong>Could not complete this.</strong> {message}
      {Array.isArray(accepted) && <p>Accepted: {accepted.join(", ")}.</p>}
    </div>
  );
}
