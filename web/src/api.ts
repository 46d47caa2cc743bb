// The one place the web app talks to the VoxGuard API. The API key is exchanged once for a
// short-lived token, which is kept in sessionStorage (this tab only, gone when it closes);
// the key itself is never stored.

export type Role = "reader" | "operator" | "admin";

export interface Quality {
  score: number;
  duration_s: number;
  speech_s: number;
  snr_db: number;
  level_dbfs: number;
  bandwidth_hz: number;
  codes: string[];
  messages: string[];
}

export interface SpoofWindow {
  start_s: number;
  end_s: number;
  probability: number;
  [key: string]: number;
}

export interface Spoof {
  status: "ok" | "unavailable";
  spoof_probability: number | null;
  is_synthetic: boolean | null;
  threshold: number | null;
  windows: SpoofWindow[];
  channel: string | null;
  short_speech: boolean | null;
  model_version: string | null;
  reason: string | null;
}

export interface Candidate {
  speaker_id: string;
  display_name: string;
  score: number;
  normalized_score: number;
  probability: number;
}

export interface CheckResult {
  event_id: string;
  recognized: boolean;
  speaker: Candidate | null;
  voice_similarity: number | null;
  voice_probability: number | null;
  behavior_match: number | null;
  spoof_probability: number | null;
  spoof: Spoof;
  quality: Quality;
  risk_score: number;
  risk_level: string;
  verdict: string;
  reasons: string[];
  alert_id: string | null;
  candidates: Candidate[];
}

export interface VerifyResult {
  event_id: string;
  speaker_id: string;
  display_name: string;
  similarity: number;
  normalized_score: number;
  llr: number;
  probability: number;
  threshold: number;
  accepted: boolean;
  decision: "accept" | "reject";
  quality: Quality;
}

export interface IdentifyResult {
  event_id: string;
  decision: "identified" | "unknown";
  best: Candidate | null;
  candidates: Candidate[];
  quality: Quality;
}

export interface DetectResult {
  event_id: string;
  filename: string;
  spoof: Spoof;
  quality: Quality;
}

export interface Speaker {
  id: string;
  display_name: string;
  external_id: string | null;
  created_at: string;
  updated_at: string;
  enrollment_count: number;
  speech_seconds: number;
  quality: number;
  behavior_profile: Record<string, unknown> | null;
}

export interface SpeakerPage {
  items: Speaker[];
  total: number;
  offset: number;
  limit: number;
}

export interface Sample {
  filename: string;
  speech_s: number;
  quality: Quality;
}

export interface EnrollResult {
  speaker: Speaker;
  samples: Sample[];
  model_version: string;
}

export type AlertStatus = "PENDING" | "ACKNOWLEDGED" | "RESOLVED" | "DISMISSED";

export interface Alert {
  id: string;
  created_at: string;
  status: AlertStatus;
  level: string;
  reason: string;
  event_id: string | null;
  speaker_id: string | null;
  changed_by: string | null;
  changed_at: string | null;
  note: string | null;
}

export interface AlertSummary {
  by_status: Record<string, number>;
  by_level: Record<string, number>;
  total: number;
}

export interface Event {
  id: string;
  created_at: string;
  operation: string;
  caller: string;
  speaker_id: string | null;
  scores: Record<string, unknown>;
  decision: string;
  risk_score: number | null;
  risk_level: string | null;
  verdict: string | null;
  audio: Record<string, unknown>;
}

export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  action: string;
  entity: string;
  entity_id: string | null;
  detail: Record<string, unknown>;
}

export interface OperatingPoint {
  threshold: number;
  false_alarm: number;
  miss: number;
}

export interface Info {
  version: string;
  models: Record<string, { status: string; version?: string; reason?: string }>;
  database: string;
  thresholds: Record<string, unknown> & { spoof_threshold: number };
  accepted_formats: string[];
  limits: Record<string, number>;
  role: Role;
  spoof_operating_points?: {
    protocol: string;
    measured: string;
    source: string;
    eer?: number;
    points: OperatingPoint[];
  } | null;
}

/** An error the API answered with (`{"error", "detail", "code"}`), or a network failure. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
    readonly detail: unknown = {},
  ) {
    super(message);
  }
}

const TOKEN = "voxguard.token";
const EXPIRES = "voxguard.expires";

export function currentToken(): string | null {
  const token = sessionStorage.getItem(TOKEN);
  const expires = Number(sessionStorage.getItem(EXPIRES) ?? 0);
  if (!token || Date.now() >= expires) return null;
  return token;
}

export function signOut(): void {
  sessionStorage.removeItem(TOKEN);
  sessionStorage.removeItem(EXPIRES);
}

let onExpired: () => void = () => undefined;
export function setExpiredHandler(handler: () => void): void {
  onExpired = handler;
}

async function parse<T>(response: Response): Promise<T> {
  if (response.ok) {
    if (response.status === 204) return undefined as T;
    const type = response.headers.get("content-type") ?? "";
    return (type.includes("json") ? await response.json() : await response.text()) as T;
  }
  let message = `The server answered ${response.status} ${response.statusText}.`;
  let code = `http_${response.status}`;
  let detail: unknown = {};
  try {
    const body = await response.json();
    if (body && typeof body.error === "string") {
      message = body.error;
      code = body.code ?? code;
      detail = body.detail ?? {};
    }
  } catch {
    // Not JSON: keep the status line.
  }
  return Promise.reject(new ApiError(message, response.status, code, detail));
}

async function request<T>(path: string, init: RequestInit = {}): Promise<T> {
  const token = currentToken();
  if (!token) {
    onExpired();
    throw new ApiError("Your session has ended. Sign in again with your API key.", 401, "expired");
  }
  const headers = new Headers(init.headers);
  headers.set("Authorization", `Bearer ${token}`);
  let response: Response;
  try {
    response = await fetch(path, { ...init, headers });
  } catch {
    throw new ApiError("VoxGuard cannot be reached. Is the server running?", 0, "network");
  }
  if (response.status === 401) {
    signOut();
    onExpired();
  }
  return parse<T>(response);
}

export async function signIn(apiKey: string): Promise<Info> {
  let response: Response;
  try {
    response = await fetch("/v1/auth/token", {
      method: "POST",
      headers: { Authorization: `Bearer ${apiKey.trim()}` },
    });
  } catch {
    throw new ApiError("VoxGuard cannot be reached. Is the server running?", 0, "network");
  }
  const token = await parse<{ access_token: string; expires_in: number }>(response);
  sessionStorage.setItem(TOKEN, token.access_token);
  // Renew a little early: a request must never race the token's end.
  sessionStorage.setItem(EXPIRES, String(Date.now() + (token.expires_in - 15) * 1000));
  return info();
}

function query(params: Record<string, string | number | boolean | undefined | null>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

function form(fields: Record<string, string | undefined>, files: File[], field = "files"): FormData {
  const body = new FormData();
  for (const [key, value] of Object.entries(fields)) if (value) body.set(key, value);
  for (const file of files) body.append(field, file, file.name);
  return body;
}

const json = (body: unknown): RequestInit => ({
  body: JSON.stringify(body),
  headers: { "Content-Type": "application/json" },
});

export const info = () => request<Info>("/v1/info");

export const check = (file: File) =>
  request<CheckResult>("/v1/check", { method: "POST", body: form({}, [file], "file") });
export const verify = (speakerId: string, file: File) =>
  request<VerifyResult>("/v1/verify", {
    method: "POST",
    body: form({ speaker_id: speakerId }, [file], "file"),
  });
export const identify = (file: File) =>
  request<IdentifyResult>("/v1/identify", { method: "POST", body: form({}, [file], "file") });
export const detect = (file: File) =>
  request<DetectResult>("/v1/detect", { method: "POST", body: form({}, [file], "file") });

export const verifyFeatures = (speakerId: string, features: object) =>
  request<VerifyResult>("/v1/verify/features", {
    method: "POST",
    ...json({ speaker_id: speakerId, features }),
  });
export const identifyFeatures = (features: object) =>
  request<IdentifyResult>("/v1/identify/features", { method: "POST", ...json({ features }) });

export const speakers = (offset = 0, limit = 50, q = "") =>
  request<SpeakerPage>(`/v1/speakers${query({ offset, limit, q })}`);
export const speaker = (id: string) => request<Speaker>(`/v1/speakers/${encodeURIComponent(id)}`);
export const enroll = (name: string, files: File[], externalId?: string) =>
  request<EnrollResult>("/v1/speakers", {
    method: "POST",
    body: form({ name, external_id: externalId }, files),
  });
export const addSamples = (id: string, files: File[]) =>
  request<EnrollResult>(`/v1/speakers/${encodeURIComponent(id)}/samples`, {
    method: "POST",
    body: form({}, files),
  });
export const deleteSpeaker = (id: string) =>
  request<void>(`/v1/speakers/${encodeURIComponent(id)}`, { method: "DELETE" });

export interface AlertQuery {
  status?: string;
  level?: string;
  speaker_id?: string;
  since?: string;
  until?: string;
  offset?: number;
  limit?: number;
}
export const alerts = (q: AlertQuery) => request<Alert[]>(`/v1/alerts${query({ ...q })}`);
export const alertSummary = (q: AlertQuery) =>
  request<AlertSummary>(`/v1/alerts/summary${query({ ...q, offset: undefined, limit: undefined })}`);
export const updateAlert = (id: string, status: AlertStatus, note: string) =>
  request<Alert>(`/v1/alerts/${encodeURIComponent(id)}`, {
    method: "PATCH",
    ...json({ status, note: note || null }),
  });

export interface EventQuery {
  operation?: string;
  speaker_id?: string;
  since?: string;
  until?: string;
  offset?: number;
  limit?: number;
}
export const events = (q: EventQuery) => request<Event[]>(`/v1/events${query({ ...q })}`);
export const event = (id: string) => request<Event>(`/v1/events/${encodeURIComponent(id)}`);
export const audit = (limit = 100, entityId?: string) =>
  request<AuditEntry[]>(`/v1/audit${query({ limit, entity_id: entityId })}`);

export interface TurnResult {
  start_s: number;
  end_s: number;
  speaker: string;
  speaker_id: string | null;
  display_name: string | null;
  spoof_probability: number | null;
  is_synthetic: boolean | null;
  overlap: boolean;
}

export interface RiskResult {
  score: number;
  level: string;
  verdict: string;
  reasons: string[];
}

export interface SpeakerSummary {
  speaker: string;
  speaker_id: string | null;
  display_name: string | null;
  identified: boolean;
  voice_probability: number | null;
  speech_s: number;
  turns: number;
  spoof_probability: number | null;
  is_synthetic: boolean | null;
  risk: RiskResult;
  quality: Quality;
  candidates: Candidate[];
  alert_id: string | null;
}

export interface AnalyzeResult {
  event_id: string;
  filename: string;
  duration_s: number;
  num_speakers: number;
  turns: TurnResult[];
  speakers: SpeakerSummary[];
  risk: RiskResult;
  alert_ids: string[];
}

export const analyze = (file: File, numSpeakers?: number) =>
  request<AnalyzeResult>(`/v1/analyze${query({ num_speakers: numSpeakers })}`, {
    method: "POST",
    body: form({}, [file], "file"),
  });

export interface Job {
  id: string;
  kind: string;
  status: "queued" | "running" | "succeeded" | "failed" | "cancelled";
  progress: { done: number; failed: number; total: number };
  created_by: string;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  attempts: number;
  error: string | null;
  summary: Record<string, unknown> | null;
}

export interface JobPage {
  items: Job[];
  total: number;
  offset: number;
  limit: number;
}

export const jobs = (status?: string, offset = 0, limit = 25) =>
  request<JobPage>(`/v1/jobs${query({ status, offset, limit })}`);
export const createJob = (kind: "detect" | "analyze", files: File[]) =>
  request<Job>(`/v1/jobs/${kind}`, { method: "POST", body: form({}, files) });
export const cancelJob = (id: string) =>
  request<Job>(`/v1/jobs/${encodeURIComponent(id)}`, { method: "DELETE" });
export const jobResults = (id: string, format: "csv" | "jsonl") =>
  request<string>(`/v1/jobs/${encodeURIComponent(id)}/results${query({ format })}`);

export interface ModelVersion {
  kind: string;
  version: string;
  status: "candidate" | "active" | "retired" | "pruned";
  parent: string | null;
  metrics: Record<string, unknown>;
  created_by: string;
  created_at: string | null;
  promoted_by: string | null;
  promoted_at: string | null;
}

export const models = () => request<ModelVersion[]>("/v1/models");
export const promoteModel = (kind: string, version: string, force: boolean) =>
  request<ModelVersion>(
    `/v1/models/${encodeURIComponent(kind)}/${encodeURIComponent(version)}/promote${query({ force: force || undefined })}`,
    { method: "POST" },
  );
export const rollbackModel = (kind: string) =>
  request<ModelVersion>(`/v1/models/${encodeURIComponent(kind)}/rollback`, { method: "POST" });
