import { useCallback, useEffect, useState } from "react";
import { NavLink, Navigate, Route, Routes, useLocation, useNavigate } from "react-router-dom";
import * as api from "./api";
import { SessionContext, sessionOf, type Session } from "./session";
import { SignIn } from "./pages/SignIn";
import { CheckPage } from "./pages/Check";
import { AnalyzePage } from "./pages/Analyze";
import { SpeakersPage } from "./pages/Speakers";
import { SpeakerDetail } from "./pages/SpeakerDetail";
import { AlertsPage } from "./pages/Alerts";
import { EventsPage, EventDetail } from "./pages/Events";
import { AuditPage } from "./pages/Audit";
import { BatchPage } from "./pages/Batch";
import { JobsPage } from "./pages/Jobs";
import { ModelsPage } from "./pages/Models";

const NAV: { to: string; label: string; admin?: boolean }[] = [
  { to: "/check", label: "Check a voice" },
  { to: "/analyze", label: "Conversations" },
  { to: "/speakers", label: "Speakers" },
  { to: "/alerts", label: "Alerts" },
  { to: "/events", label: "Events" },
  { to: "/batch", label: "Batch detect" },
  { to: "/jobs", label: "Jobs" },
  { to: "/models", label: "Models and settings" },
  { to: "/audit", label: "Audit log", admin: true },
];

export function App() {
  const [session, setSession] = useState<Session | null>(null);
  const [loading, setLoading] = useState(api.currentToken() !== null);
  const [notice, setNotice] = useState<string | null>(null);
  const navigate = useNavigate();
  const location = useLocation();

  const end = useCallback(
    (message: string | null) => {
      api.signOut();
      setSession(null);
      setNotice(message);
      navigate("/signin");
    },
    [navigate],
  );

  useEffect(() => {
    api.setExpiredHandler(() => end("Your session has ended. Sign in again with your API key."));
    if (api.currentToken()) {
      api
        .info()
        .then((info) => setSession(sessionOf(info, () => end(null))))
        .catch(() => api.signOut())
        .finally(() => setLoading(false));
    }
  }, [end]);

  if (loading) return <p className="loading">Loading…</p>;

  if (!session) {
    return (
      <main id="main" className="signin-page">
        <SignIn
          notice={notice}
          onSignedIn={(info) => {
            setNotice(null);
            setSession(sessionOf(info, () => end(null)));
            const from = (location.state as { from?: string } | null)?.from;
            navigate(from && from !== "/signin" ? from : "/check");
          }}
        />
      </main>
    );
  }

  return (
    <SessionContext.Provider value={session}>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <span className="brand">
          <span aria-hidden="true">◉</span> VoxGuard
        </span>
        <nav aria-label="Main">
          <ul>
            {NAV.filter((item) => !item.admin || session.can("admin")).map((item) => (
              <li key={item.to}>
                <NavLink to={item.to}>{item.label}</NavLink>
              </li>
            ))}
          </ul>
        </nav>
        <span className="who">
          <span className="role" data-testid="role">
            {session.role}
          </span>
          <button type="button" className="link" onClick={session.signOut}>
            Sign out
          </button>
        </span>
      </header>
      <main id="main" tabIndex={-1}>
        <Routes>
          <Route path="/" element={<Navigate to="/check" replace />} />
          <Route path="/signin" element={<Navigate to="/check" replace />} />
          <Route path="/check" element={<CheckPage />} />
          <Route path="/analyze" element={<AnalyzePage />} />
          <Route path="/speakers" element={<SpeakersPage />} />
          <Route path="/speakers/:id" element={<SpeakerDetail />} />
          <Route path="/alerts" element={<AlertsPage />} />
          <Route path="/events" element={<EventsPage />} />
          <Route path="/events/:id" element={<EventDetail />} />
          <Route path="/audit" element={<AuditPage />} />
          <Route path="/batch" element={<BatchPage />} />
          <Route path="/jobs" element={<JobsPage />} />
          <Route path="/models" element={<ModelsPage />} />
          <Route path="*" element={<p>No page here. Choose one from the menu.</p>} />
        </Routes>
      </main>
    </SessionContext.Provider>
  );
}
