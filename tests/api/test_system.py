from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from pydantic import ValidationError

from tests.api.conftest import Api, make_settings, open_api
from tests.databases import database_url
from voxguard.api.app import create_app
from voxguard.config import Settings
from voxguard.services.engines import Loaded
from voxguard.services.runtime import build_runtime


def test_health_reports_models_and_database(sqlite_api: Api) -> None:
    body = sqlite_api.client.get("/health").json()
    assert body["status"] == "ok" and body["database"] == "reachable"
    assert body["models"]["speaker"]["status"] == "loaded"
    assert body["models"]["spoof"] == {"status": "unavailable", "reason": "spoof model not built"}


def test_info_and_metrics(sqlite_api: Api) -> None:
    info = sqlite_api.client.get("/v1/info", headers=sqlite_api.headers("reader")).json()
    assert info["limits"]["max_upload_mb"] == 1.0
    assert "FLAC" in info["accepted_formats"]
    assert info["thresholds"]["risk_bands"] == {"MEDIUM": 0.35, "HIGH": 0.65}
    assert info["thresholds"]["spoof_threshold_by_channel"] == {}  # this API has no detector
    assert info["thresholds"]["spoof_classical_tts_head"] is False  # off by default
    metrics = sqlite_api.client.get("/metrics", headers=sqlite_api.headers("reader"))
    assert (
        'voxguard_http_requests_total{method="GET",route="/v1/info",status="200"}' in metrics.text
    )


def test_unknown_route_has_the_error_shape(sqlite_api: Api) -> None:
    response = sqlite_api.client.get("/v1/nothing-here", headers=sqlite_api.headers())
    assert response.status_code == 404
    assert set(response.json()) == {"error", "detail", "code"}


def test_first_start_prints_an_admin_key_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from fastapi.testclient import TestClient

    with database_url("sqlite", tmp_path) as url:
        settings = make_settings(tmp_path, url)

        def factory(s: Settings):  # type: ignore[no-untyped-def]
            return build_runtime(s, speaker=Loaded(None, "x"), spoof=Loaded(None, "y"))

        with TestClient(create_app(settings, factory)) as client:
            out = capsys.readouterr().out
            key = next(line.strip() for line in out.splitlines() if line.strip().startswith("vg_"))
            assert client.get("/v1/keys", headers={"X-API-Key": key}).status_code == 200
            assert client.get("/health").json()["models"]["speaker"]["status"] == "unavailable"
        with TestClient(create_app(settings, factory)):
            assert "vg_" not in capsys.readouterr().out


def test_speaker_endpoints_answer_503_without_an_engine(tmp_path: Path) -> None:
    with database_url("sqlite", tmp_path) as url:
        for api in open_api(make_settings(tmp_path, url), with_engine=False):
            from tests.api.audio import speaker_halves

            response = api.client.post(
                "/v1/identify",
                files={"file": ("a.wav", speaker_halves(0)[0], "audio/wav")},
                headers=api.headers(),
            )
            assert response.status_code == 503 and response.json()["code"] == "model_unavailable"


def test_default_secrets_refused_outside_development(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="VOXGUARD_JWT_SECRET"):
        Settings(environment="production", data_dir=tmp_path)
    with pytest.raises(ValidationError, match="VOXGUARD_ENCRYPTION_KEY"):
        Settings(environment="production", data_dir=tmp_path, jwt_secret="s" * 40)


def test_cors_and_raw_audio_are_opt_in(tmp_path: Path) -> None:
    from tests.api.audio import speaker_halves
    from voxguard.store.models import CheckEvent

    with database_url("sqlite", tmp_path) as url:
        settings = make_settings(
            tmp_path, url, cors_origins=["https://console.example"], store_raw_audio=True
        )
        for api in open_api(settings):
            preflight = api.client.options(
                "/v1/info",
                headers={
                    "Origin": "https://console.example",
                    "Access-Control-Request-Method": "GET",
                    "Access-Control-Request-Headers": "X-API-Key",
                },
            )
            assert preflight.headers["access-control-allow-origin"] == "https://console.example"
            audio = speaker_halves(0)[0]
            api.client.post(
                "/v1/identify", files={"file": ("a.wav", audio, "audio/wav")}, headers=api.headers()
            )
            with api.runtime.store.sessions() as session:
                event = session.query(CheckEvent).one()
                assert event.raw_audio == audio


def test_raw_audio_is_not_kept_by_default(sqlite_api: Api) -> None:
    from tests.api.audio import speaker_halves
    from voxguard.store.models import CheckEvent

    audio = speaker_halves(0)[0]
    sqlite_api.client.post(
        "/v1/identify", files={"file": ("a.wav", audio, "audio/wav")}, headers=sqlite_api.headers()
    )
    with sqlite_api.runtime.store.sessions() as session:
        assert session.query(CheckEvent).one().raw_audio is None
    cors = sqlite_api.client.get("/health", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in cors.headers


def _trim_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "malloc-trim" and t.is_alive()]


def test_workers_trim_malloc_only_when_asked(tmp_path: Path) -> None:
    before = len(_trim_threads())
    with database_url("sqlite", tmp_path) as url:
        for _api in open_api(make_settings(tmp_path, url)):
            assert len(_trim_threads()) == before  # off by default
    (tmp_path / "on").mkdir()
    with database_url("sqlite", tmp_path / "on") as url:
        for api in open_api(make_settings(tmp_path / "on", url, malloc_trim_s=0.01)):
            assert api.client.get("/health").status_code == 200
            assert len(_trim_threads()) == before + 1
    deadline = time.monotonic() + 5
    while len(_trim_threads()) > before and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(_trim_threads()) == before  # stopped with the app
