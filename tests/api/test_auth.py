"""Each role on each endpoint, plus tokens, revocation and rate limiting."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest

from tests.api.conftest import Api, make_settings, open_api
from tests.databases import database_url

RANK = {"reader": 0, "operator": 1, "admin": 2}
# method, path, least role. Bodies are left out on purpose: an allowed caller gets a 4xx from
# validation or a 404, never a side effect.
MATRIX = [
    ("GET", "/v1/speakers", "reader"),
    ("GET", "/v1/speakers/nope", "reader"),
    ("POST", "/v1/speakers", "operator"),
    ("POST", "/v1/speakers/nope/samples", "operator"),
    ("DELETE", "/v1/speakers/nope", "admin"),
    ("POST", "/v1/verify", "operator"),
    ("POST", "/v1/identify", "operator"),
    ("POST", "/v1/check", "operator"),
    ("POST", "/v1/detect", "operator"),
    ("POST", "/v1/detect/batch", "operator"),
    ("GET", "/v1/alerts", "reader"),
    ("PATCH", "/v1/alerts/nope", "operator"),
    ("GET", "/v1/events", "reader"),
    ("GET", "/v1/info", "reader"),
    ("GET", "/metrics", "reader"),
    ("POST", "/v1/keys", "admin"),
    ("GET", "/v1/keys", "admin"),
    ("DELETE", "/v1/keys/nope", "admin"),
    ("GET", "/v1/audit", "admin"),
]


@pytest.fixture(scope="module")
def auth_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    tmp_path: Path = tmp_path_factory.mktemp("auth")
    with database_url("sqlite", tmp_path) as url:
        yield from open_api(make_settings(tmp_path, url))


@pytest.mark.parametrize(("method", "path", "least"), MATRIX)
@pytest.mark.parametrize("role", [None, "reader", "operator", "admin"])
def test_role_matrix(auth_api: Api, method: str, path: str, least: str, role: str | None) -> None:
    headers = auth_api.headers(role) if role else {}
    response = auth_api.client.request(method, path, headers=headers)
    if role is None:
        assert response.status_code == 401 and response.json()["code"] == "authentication_required"
    elif RANK[role] < RANK[least]:
        assert response.status_code == 403 and response.json()["code"] == "permission_denied"
    else:
        assert response.status_code not in (401, 403, 500), response.text


def test_health_and_docs_need_no_credentials(auth_api: Api) -> None:
    assert auth_api.client.get("/health").status_code == 200
    assert auth_api.client.get("/docs").status_code == 200
    assert auth_api.client.get("/openapi.json").status_code == 200


def test_x_api_key_header_and_bad_key(auth_api: Api) -> None:
    ok = auth_api.client.get("/v1/info", headers={"X-API-Key": auth_api.keys["reader"]})
    assert ok.status_code == 200 and ok.json()["role"] == "reader"
    bad = auth_api.client.get("/v1/info", headers={"X-API-Key": "vg_not-a-key"})
    assert bad.status_code == 401 and bad.json()["code"] == "invalid_credentials"


def test_token_flow(auth_api: Api) -> None:
    response = auth_api.client.post("/v1/auth/token", headers=auth_api.headers("operator"))
    assert response.status_code == 200
    token = response.json()["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    assert auth_api.client.get("/v1/alerts", headers=bearer).status_code == 200
    assert auth_api.client.get("/v1/keys", headers=bearer).status_code == 403  # role kept
    # A token cannot mint tokens, and a forged or expired one is refused.
    assert auth_api.client.post("/v1/auth/token", headers=bearer).status_code == 401
    claims = jwt.decode(token, options={"verify_signature": False})
    forged = jwt.encode({**claims, "role": "admin"}, "wrong-secret-" + "y" * 32, algorithm="HS256")
    assert (
        auth_api.client.get("/v1/info", headers={"Authorization": f"Bearer {forged}"}).status_code
        == 401
    )
    secret = auth_api.runtime.settings.jwt_secret
    expired = jwt.encode({**claims, "exp": 1}, secret, algorithm="HS256")
    response = auth_api.client.get("/v1/info", headers={"Authorization": f"Bearer {expired}"})
    assert response.status_code == 401 and "expired" in response.json()["error"]


def test_revoked_key_and_its_tokens_stop_working(auth_api: Api) -> None:
    created = auth_api.client.post(
        "/v1/keys", json={"name": "temp", "role": "reader"}, headers=auth_api.headers()
    ).json()
    key = created["key"]
    token = auth_api.client.post("/v1/auth/token", headers={"X-API-Key": key}).json()[
        "access_token"
    ]
    listed = auth_api.client.get("/v1/keys", headers=auth_api.headers()).json()
    assert "key" not in listed[0] and any(k["id"] == created["id"] for k in listed)
    revoked = auth_api.client.delete(f"/v1/keys/{created['id']}", headers=auth_api.headers())
    assert revoked.json()["revoked_at"] is not None
    for credential in (key, token):
        response = auth_api.client.get(
            "/v1/info", headers={"Authorization": f"Bearer {credential}"}
        )
        assert response.status_code == 401


def test_rate_limit_per_key(tmp_path: Path) -> None:
    with database_url("sqlite", tmp_path) as url:
        settings = make_settings(tmp_path, url, rate_limit_per_minute=1, rate_limit_burst=3)
        for api in open_api(settings):
            codes = [
                api.client.get("/v1/info", headers=api.headers("reader")).status_code
                for _ in range(4)
            ]
            assert codes == [200, 200, 200, 429]
            limited = api.client.get("/v1/info", headers=api.headers("reader"))
            assert (
                limited.json()["code"] == "rate_limited"
                and int(limited.headers["Retry-After"]) >= 1
            )
            # Another key has its own bucket.
            assert api.client.get("/v1/info", headers=api.headers("admin")).status_code == 200
