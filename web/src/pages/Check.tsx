import { useEffect, useState } from "react";
import { useNavigate } from "react-router-dom";
import * as api from "../api";
import { AudioPicker } from "../components/AudioPicker";
import { ErrorMessage } from "../components/ErrorMessage";
import { CheckCard, DetectCard, IdentifyCard, VerifyCard } from "../components/Results";
import { WaveView } from "../components/WaveView";
import { privacyFeatures } from "../lib/melFeatures";
import { decodeMono } from "../lib/wav";
import { useSession } from "../session";

type Action = "check" | "verify" | "identify" | "detect";
type Result =
  | { action: "check"; value: api.CheckResult }
  | { action: "verify"; value: api.VerifyResult }
  | { action: "identify"; value: api.IdentifyResult }
  | { action: "detect"; value: api.DetectResult };

export function CheckPage() {
  const session = useSession();
  const navigate = useNavigate();
  const [file, setFile] = useState<File | null>(null);
  const [speakers, setSpeakers] = useState<api.Speaker[]>([]);
  const [speakerId, setSpeakerId] = useState("");
  const [privacy, setPrivacy] = useState(false);
  const [busy, setBusy] = useState<Action | null>(null);
  const [result, setResult] = useState<Result | null>(null);
  const [error, setError] = useState<unknown>(null);
  const canRun = session.can("operator");

  useEffect(() => {
    api
      .speakers(0, 500)
      .then((page) => setSpeakers(page.items))
      .catch(() => setSpeakers([]));
  }, []);

  async function run(action: Action) {
    if (!file) return;
    setBusy(action);
    setError(null);
    setResult(null);
    try {
      if (action === "check") setResult({ action, value: await api.check(file) });
      if (action === "detect") setResult({ action, value: await api.detect(file) });
      if (action === "verify" || action === "identify") {
        let value;
        if (privacy) {
          // Only the encoder's mel frames leave the browser, never the audio.
          const features = privacyFeatures(await decodeMono(file, 16000));
          value =
            action === "verify"
              ? await api.verifyFeatures(speakerId, features)
              : await api.identifyFeatures(features);
        } else {
          value = action === "verify" ? await api.verify(speakerId, file) : await api.identify(file);
        }
        setResult({ action, value } as Result);
      }
    } catch (exc) {
      setError(exc);
    } finally {
      setBusy(null);
    }
  }

  const windows =
    result?.action === "check" || result?.action === "detect" ? result.value.spoof.windows : undefined;
  const threshold =
    result?.action === "check" || result?.action === "detect" ? result.value.spoof.threshold : null;

  return (
    <>
      <h1>Check a voice</h1>
      {!canRun && (
        <p className="notice">Your role ({session.role}) can look but not check voices: ask an admin for an operator key.</p>
      )}
      <section className="card" aria-label="Recording">
        <AudioPicker
          onFiles={(files) => {
            setFile(files[0]);
            setResult(null);
            setError(null);
          }}
        />
        {file && <p data-testid="chosen-file">Chosen: {file.name}</p>}
        <div className="actions">
          <button type="button" disabled={!file || !canRun || busy !== null} onClick={() => run("check")}>
            {busy === "check" ? "Checking…" : "Check"}
          </button>
          <button type="button" disabled={!file || !canRun || busy !== null} onClick={() => run("identify")}>
            {busy === "identify" ? "Identifying…" : "Identify"}
          </button>
          <button type="button" disabled={!file || !canRun || busy !== null} onClick={() => run("detect")}>
            {busy === "detect" ? "Detecting…" : "Detect synthetic speech"}
          </button>
          <span className="verify-group">
            <label htmlFor="verify-speaker">Verify against</label>
            <select id="verify-speaker" value={speakerId} onChange={(e) => setSpeakerId(e.target.value)}>
              <option value="">choose a speaker…</option>
              {speakers.map((s) => (
                <option key={s.id} value={s.id}>
                  {s.display_name}
                </option>
              ))}
            </select>
            <button
              type="button"
              disabled={!file || !speakerId || !canRun || busy !== null}
              onClick={() => run("verify")}
            >
              {busy === "verify" ? "Verifying…" : "Verify"}
            </button>
          </span>
        </div>
        <label className="checkbox">
          <input type="checkbox" checked={privacy} onChange={(e) => setPrivacy(e.target.checked)} />
          Privacy mode for verify and identify: compute the voice features in this browser and send
          only them, never the audio
        </label>
      </section>
      <ErrorMessage error={error} />
      {result?.action === "check" && (
        <CheckCard
          result={result.value}
          onEnroll={session.can("operator") && file ? () => navigate("/speakers", { state: { enrollFile: file } }) : undefined}
        />
      )}
      {result?.action === "verify" && <VerifyCard result={result.value} />}
      {result?.action === "identify" && <IdentifyCard result={result.value} />}
      {result?.action === "detect" && <DetectCard result={result.value} />}
      {file && <WaveView file={file} windows={windows} threshold={threshold} />}
    </>
  );
}
