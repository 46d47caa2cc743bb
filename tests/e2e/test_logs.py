"""A real ``voxguard serve`` logs JSON lines with a request id, and never a key or a token.

Requests carry an API key and an access token every way a client can send them: in the
Authorization and X-API-Key headers, in a query string, and as the live-call WebSocket's
``?token=``, which uvicorn itself logs with the URL.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect

from tests.e2e.conftest import Server, start_server


@pytest.fixture(scope="module")
def json_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data = tmp_path_factory.mktemp("logs") / "data"
    yield from start_server(data, "--job-workers", "0", VOXGUARD_LOG_FORMAT="json")


def _log_lines(server: Server) -> list[dict[str, Any]]:
    lines = []
    for line in server.output:
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


def test_requests_log_json_with_their_id_and_no_secret(json_server: Server) -> None:
    with json_server.client() as admin:
        key = admin.post("/v1/keys", json={"name": "logs", "role": "operator"}).json()["key"]
    url = json_server.url
    token = httpx.post(f"{url}/v1/auth/token", headers={"X-API-Key": key}).json()["access_token"]

    sent = {
        "e2e-key-header": httpx.get(
            f"{url}/v1/info", headers={"X-API-Key": key, "X-Request-ID": "e2e-key-header"}
        ),
        "e2e-bearer-token": httpx.get(
            f"{url}/v1/info",
            headers={"Authorization": f"Bearer {token}", "X-Request-ID": "e2e-bearer-token"},
        ),
        "e2e-query": httpx.get(
            f"{url}/v1/speakers",
            params={"token": token, "api_key": key},
            headers={"Authorization": f"Bearer {key}", "X-Request-ID": "e2e-query"},
        ),
        "e2e-wrong-key": httpx.get(
            f"{url}/v1/info",
            headers={"Authorization": f"Bearer {key}x", "X-Request-ID": "e2e-wrong-key"},
        ),
    }
    assert [r.status_code for r in sent.values()] == [200, 200, 200, 401]
    for request_id, response in sent.items():
        assert response.headers["x-request-id"] == request_id
    # An id that could forge a log line is replaced by one of the server's own.
    forged = httpx.get(f"{url}/health", headers={"X-Request-ID": 'x", "level": "error'})
    assert forged.headers["x-request-id"].isalnum()

    ws_url = url.replace("http://", "ws://") + f"/v1/stream?token={token}"
    with connect(ws_url, additional_headers={"X-Request-ID": "e2e-websocket"}) as ws:
        assert json.loads(ws.recv())["type"] == "ready"

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        lines = _log_lines(json_server)
        if any("WebSocket" in line["event"] for line in lines) and any(
            line.get("request_id") == "e2e-wrong-key" for line in lines
        ):
            break
        time.sleep(0.2)

    text = "".join(json_server.output)
    assert key not in text and key[3:] not in text
    assert token not in text and token.split(".")[2] not in text
    # The bootstrap admin key is printed once, as a banner, and never logged.
    assert sum(json_server.admin_key in line for line in json_server.output) == 1
    lines = _log_lines(json_server)
    assert all(json_server.admin_key not in json.dumps(line) for line in lines)

    requests = {line["request_id"]: line for line in lines if line["event"] == "request"}
    for request_id, response in sent.items():
        line = requests[request_id]
        assert line["status"] == response.status_code and line["level"] == "info"
        assert line["logger"] == "voxguard.request" and line["method"] == "GET"
        assert "?" not in line["path"] and "duration_ms" in line and "timestamp" in line
    websocket = next(line for line in lines if "WebSocket /v1/stream" in line["event"])
    assert websocket["request_id"] == "e2e-websocket"
    assert "token=[REDACTED]" in websocket["event"]
    # uvicorn's own lines are JSON too.
    assert any(line["logger"].startswith("uvicorn") for line in lines)
