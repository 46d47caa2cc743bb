"""The service as a user meets it: a real server process, HTTP, and the CLI beside it."""

from __future__ import annotations

import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import VOXGUARD, Server, start_server

MULTIPART_HEAD = (
    b'--b\r\nContent-Disposition: form-data; name="file"; filename="big.wav"\r\n'
    b"Content-Type: audio/wav\r\n\r\n"
)


def test_first_start_prints_admin_key_and_serves(server: Server) -> None:
    assert server.admin_key.startswith("vg_"), "".join(server.output)
    assert any(
        f"VoxGuard on http://127.0.0.1:{server.url.rsplit(':', 1)[1]}" in line
        for line in server.output
    )
    health = httpx.get(f"{server.url}/health").json()
    assert health["database"] == "reachable" and health["models"]["vad"]["status"] == "loaded"
    assert httpx.get(f"{server.url}/v1/info").status_code == 401
    with server.client() as client:
        info = client.get("/v1/info").json()
        assert info["role"] == "admin" and info["database"] in ("sqlite", "postgresql")


def test_keys_and_tokens_over_http(server: Server) -> None:
    with server.client() as admin:
        created = admin.post("/v1/keys", json={"name": "dashboard", "role": "reader"}).json()
    token = httpx.post(f"{server.url}/v1/auth/token", headers={"X-API-Key": created["key"]}).json()[
        "access_token"
    ]
    with server.client(token) as reader:
        assert reader.get("/v1/alerts?recent=true").status_code == 200
        assert reader.post("/v1/check").status_code == 403


def test_upload_limit_is_enforced_while_streaming(server: Server) -> None:
    def body() -> Iterator[bytes]:
        yield MULTIPART_HEAD
        for _ in range(4000):  # 1 GB if it were all read; cut off at the limit
            yield b"\0" * 262_144

    with server.client() as client:
        response = client.post(
            "/v1/check", content=body(), headers={"Content-Type": "multipart/form-data; boundary=b"}
        )
    assert response.status_code == 413, response.text
    assert response.json()["code"] == "request_too_large"


def test_cli_keys_against_the_same_store(server: Server) -> None:
    created = server.cli("keys", "create", "ci-bot", "--role", "operator")
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().splitlines()[-1]
    with server.client(key) as client:
        assert client.get("/v1/events").status_code == 200
    assert server.cli("keys", "revoke", "ci-bot").returncode == 0
    with server.client(key) as client:
        assert client.get("/v1/events").status_code == 401


def test_https_with_a_certificate_from_voxguard_cert(tmp_path: Path) -> None:
    made = subprocess.run(
        [str(VOXGUARD), "cert", "--out-dir", str(tmp_path), "--hostname", "127.0.0.1"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    for server in start_server(
        tmp_path / "data",
        "--ssl-certfile",
        str(cert),
        "--ssl-keyfile",
        str(key),
        scheme="https",
        verify=ssl.create_default_context(cafile=str(cert)),
    ):
        assert server.url.startswith("https://")
        health = httpx.get(
            f"{server.url}/health", verify=ssl.create_default_context(cafile=str(cert))
        )
        assert health.json()["database"] == "reachable"


def _tree(pid: int) -> list[int]:
    found = [pid]
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            found += _tree(int(child))
    return found


def _loads_models(pid: int) -> bool:
    # VoxGuard imports onnxruntime only to load a model.
    return "onnxruntime" in Path(f"/proc/{pid}/maps").read_text()


@pytest.mark.skipif(not Path("/proc/self/maps").is_file(), reason="reads /proc (Linux)")
def test_only_the_api_workers_load_models(tmp_path: Path) -> None:
    """Issue 22: no model in a process that does not serve: with --workers 2 the supervisor,
    the idle job process and multiprocessing's helper hold none; each API worker its own."""
    for server in start_server(tmp_path / "data", "--workers", "2"):
        assert server.process is not None
        deadline = time.monotonic() + 120
        while sum("Application startup complete" in line for line in server.output) < 2:
            assert time.monotonic() < deadline, "".join(server.output)
            time.sleep(0.3)
        supervisor = server.process.pid
        tree = _tree(supervisor)
        assert len(tree) >= 4, tree  # supervisor, job process, two API workers
        serving = [pid for pid in tree if _loads_models(pid)]
        assert supervisor not in serving
        assert len(serving) == 2, (serving, tree)
