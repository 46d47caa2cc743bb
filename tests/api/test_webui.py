"""The web UI's bundle served at ``/``: SPA routes, assets, security headers, API paths kept."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from voxguard.api.errors import install_error_handlers
from voxguard.api.webui import install_web_ui


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    root = tmp_path / "static"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text("<!doctype html><title>VoxGuard app</title>")
    (root / "assets" / "index-abc123.js").write_text("console.log('app')")
    (tmp_path / "secret.txt").write_text("outside the bundle")
    return root


def _client(root: Path) -> TestClient:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/v1/ping")
    def ping() -> dict[str, str]:
        return {"pong": "yes"}

    install_web_ui(app, root)
    return TestClient(app)


def test_app_routes_get_the_index_with_a_strict_csp(bundle: Path) -> None:
    client = _client(bundle)
    for path in ("/", "/check", "/speakers/abc", "/alerts?focus=1"):
        response = client.get(path)
        assert response.status_code == 200 and "VoxGuard app" in response.text, path
        csp = response.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "script-src 'self';" in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["cache-control"] == "no-cache"


def test_assets_are_served_and_cached_for_good(bundle: Path) -> None:
    response = _client(bundle).get("/assets/index-abc123.js")
    assert response.status_code == 200 and "console.log" in response.text
    assert "immutable" in response.headers["cache-control"]


def test_api_paths_keep_their_json_errors(bundle: Path) -> None:
    client = _client(bundle)
    assert client.get("/v1/ping").json() == {"pong": "yes"}
    missing = client.get("/v1/nothing-here")
    assert missing.status_code == 404 and set(missing.json()) == {"error", "detail", "code"}
    assert client.get("/openapi.json.bak").status_code == 404


def test_nothing_outside_the_bundle_is_served(bundle: Path) -> None:
    client = _client(bundle)
    for path in ("/../secret.txt", "/%2e%2e/secret.txt", "/assets/%2e%2e/%2e%2e/secret.txt"):
        response = client.get(path)
        assert "outside the bundle" not in response.text, path


def test_without_a_bundle_the_page_says_how_to_build_it(tmp_path: Path) -> None:
    response = _client(tmp_path / "empty").get("/")
    assert response.status_code == 503
    assert "make web" in response.text and "/docs" in response.text
