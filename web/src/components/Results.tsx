import { Link } from "react-router-dom";
import type {
  Candidate,
  CheckResult,
  DetectResult,
  IdentifyResult,
  Quality,
  Spoof,
  VerifyResult,
} from "../api";
import { RiskGauge } from "./RiskGauge";

export const pct = (value: number | null | undefined, digits = 0) =>
  value == null ? "—" : `${(value * 100).toFixed(digits)}%`;

/** Quality feedback in words: too short, noisy, clipped, narrowband, or fine. */
export function QualityFeedback({ quality }: { quality: Quality }) {
  return (
    <div className="quality">
      <h3>Audio quality</h3>
      {quality.messages.length ? (
        <ul>
          {quality.messages.map((m) => (
            <li key={m}>{m}</li>
          ))}
        </ul>
      ) : (
        <p>Good: enough clear speech for a reliable result.</p>
      )}
      <p className="muted">
        {quality.speech_s.toFixed(1)} s of speech in {quality.duration_s.toFixed(1)} s · SNR{" "}
        {quality.snr_db.toFixed(0)} dB · level {quality.level_dbfs.toFixed(0)} dBFS · bandwidth{" "}
        {(quality.bandwidth_hz / 1000).toFixed(1)} kHz · score {pct(quality.score)}
      </p>
    </div>
  );
}

function SpoofLine({ spoof }: { spoof: Spoof }) {
  if (spoof.status !== "ok") {
    return <p>Synthetic-speech check unavailable: {spoof.reason}</p>;
  }
  return (
    <p>
      <span className={`badge ${spoof.is_synthetic ? "bad" : "good"}`} data-testid="spoof-verdict">
        {spoof.is_synthetic ? "Likely synthetic" : "Likely live human"}
      </span>{" "}
      P(synthetic) {pct(spoof.spoof_probability)} (threshold {pct(spoof.threshold)})
      {spoof.channel && spoof.channel !== "wideband" ? `, ${spoof.channel} channel` : ""}
      {spoof.short_speech ? ", short speech: weaker evidence" : ""}
    </p>
  );
}

function Candidates({ items }: { items: Candidate[] }) {
  if (!items.length) return null;
  return (
    <table>
      <caption>Closest enrolled speakers</caption>
      <thead>
        <tr>
          <th scope="col">Speaker</th>
          <th scope="col">Similarity</th>
          <th scope="col">Probability</th>
        </tr>
      </thead>
      <tbody>
        {items.map((c) => (
          <tr key={c.speaker_id}>
            <td>
              <Link to={`/speakers/${c.speaker_id}`}>{c.display_name}</Link>
            </td>
            <td>{c.score.toFixed(3)}</td>
            <td>{pct(c.probability)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function CheckCard({ result, onEnroll }: { result: CheckResult; onEnroll?: () => void }) {
  return (
    <section className={`card result level-${result.risk_level}`} aria-labelledby="result-title" data-testid="result">
      <div className="result-head">
        <RiskGauge score={result.risk_score} level={result.risk_level} />
        <div>
          <h2 id="result-title">
            Verdict: <span data-testid="verdict">{result.verdict}</span>
          </h2>
          <p>
            Risk <strong data-testid="risk-level">{result.risk_level}</strong> (
            {result.risk_score.toFixed(2)}) ·{" "}
            {result.recognized && result.speaker ? (
              <>
                Recognized as{" "}
                <Link to={`/speakers/${result.speaker.speaker_id}`}>{result.speaker.display_name}</Link>
              </>
            ) : (
              <>Not recognized</>
            )}
          </p>
          {result.alert_id && (
            <p>
              <Link to={`/alerts?focus=${result.alert_id}`}>An alert was raised</Link>.
            </p>
          )}
        </div>
      </div>
      <dl className="metrics">
        <div>
          <dt>Voice similarity</dt>
          <dd>{result.voice_similarity == null ? "—" : result.voice_similarity.toFixed(3)}</dd>
        </div>
        <div>
          <dt>Same-voice probability</dt>
          <dd>{pct(result.voice_probability)}</dd>
        </div>
        <div>
          <dt>Behavior match</dt>
          <dd>{pct(result.behavior_match)}</dd>
        </div>
        <div>
          <dt>Spoof probability</dt>
          <dd>{pct(result.spoof_probability)}</dd>
        </div>
      </dl>
      <SpoofLine spoof={result.spoof} />
      <h3>Reasons</h3>
      <ul data-testid="reasons">
        {result.reasons.map((r) => (
          <li key={r}>{r}</li>
        ))}
      </ul>
      <QualityFeedback quality={result.quality} />
      <Candidates items={result.candidates} />
      {!result.recognized && onEnroll && (
        <p>
          This voice is not recognized.{" "}
          <button type="button" onClick={onEnroll}>
            Enroll it as a new speaker…
          </button>
        </p>
      )}
    </section>
  );
}

export function VerifyCard({ result }: { result: VerifyResult }) {
  return (
    <section className={`card result ${result.accepted ? "level-LOW" : "level-HIGH"}`} data-testid="result">
      <h2>
        {result.accepted ? "Same speaker: accepted" : "Different speaker: rejected"} ({result.display_name})
      </h2>
      <dl className="metrics">
        <div>
          <dt>Similarity</dt>
          <dd>{result.similarity.toFixed(3)}</dd>
        </div>
        <div>
          <dt>Same-voice probability</dt>
          <dd>{pct(result.probability)}</dd>
        </div>
        <div>
          <dt>Normalized score / threshold</dt>
          <dd>
            {result.normalized_score.toFixed(2)} / {result.threshold.toFixed(2)}
          </dd>
        </div>
      </dl>
      <QualityFeedback quality={result.quality} />
    </section>
  );
}

export function IdentifyCard({ result }: { result: IdentifyResult }) {
  return (
    <section className="card result" data-testid="result">
      <h2>
        {result.best ? (
          <>
            Identified: <Link to={`/speakers/${result.best.speaker_id}`}>{result.best.display_name}</Link>
          </>
        ) : (
          "Unknown speaker: nobody enrolled matches"
        )}
      </h2>
      <Candidates items={result.candidates} />
      <QualityFeedback quality={result.quality} />
    </section>
  );
}

export function DetectCard({ result }: { result: DetectResult }) {
  return (
    <section className={`card result ${result.spoof.is_synthetic ? "level-HIGH" : "level-LOW"}`} data-testid="result">
      <h2>Synthetic-speech check</h2>
      <SpoofLine spoof={result.spoof} />
      <QualityFeedback quality={result.quality} />
    </section>
  );
}
