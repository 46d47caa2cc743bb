"""A real ``voxguard serve`` process on a free port, talked to over HTTP."""

from __future__ import annotations

import os
import re
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.databases import BACKENDS, database_url

VOXGUARD = Path(sys.executable).with_name("voxguard")
_KEY = re.compile(r"^\s*(vg_[A-Za-z0-9_-]+)\s*$")


@dataclass
class Server:
    url: str
    admin_key: str
    env: dict[str, str]
    output: list[str] = field(default_factory=list)
    process: subprocess.Popen[str] | None = None

    def client(self, key: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key or self.admin_key}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=120)

    def cli(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        """Run the ``voxguard`` CLI against the same data dir, feeding ``stdin`` to prompts."""
        return subprocess.run(
            [str(VOXGUARD), *args],
            input=stdin,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_server(
    data_dir: Path,
    *args: str,
    scheme: str = "http",
    verify: ssl.SSLContext | bool = True,
    **env_overrides: str,
) -> Iterator[Server]:
    port = free_port()
    env = {
        **os.environ,
        "VOXGUARD_DATA_DIR": str(data_dir),
        "VOXGUARD_API_PORT": str(port),
        "VOXGUARD_API_HOST": "127.0.0.1",
        "VOXGUARD_MAX_REQUEST_MB": "60",
        **env_overrides,
    }
    if "VOXGUARD_DATABASE_URL" not in env_overrides:
        env.pop("VOXGUARD_DATABASE_URL", None)
    process = subprocess.Popen(
        [str(VOXGUARD), "serve", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    assert process.stdout is not None
    reader = threading.Thread(
        target=lambda: output.extend(iter(process.stdout.readline, "")), daemon=True
    )  # type: ignore[union-attr]
    reader.start()
    url = f"{scheme}://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                pytest.fail("server exited:\n" + "".join(output))
            try:
                if httpx.get(f"{url}/health", timeout=2, verify=verify).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("server did not become healthy:\n" + "".join(output))
            time.sleep(0.3)
        keys = [m.group(1) for line in output if (m := _KEY.match(line))]
        yield Server(
            url=url, admin_key=keys[0] if keys else "", env=env, output=output, process=process
        )
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def backend_server(request: pytest.FixtureRequest, tmp: Path) -> Iterator[Server]:
    """A server on SQLite (the embedded default) or on a fresh PostgreSQL database."""
    with database_url(request.param, tmp) as url:
        if request.param == "sqlite":
            yield from start_server(tmp / "data")
        else:
            yield from start_server(tmp / "data", VOXGUARD_DATABASE_URL=url)


@pytest.fixture(scope="module", params=BACKENDS)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    yield from backend_server(request, tmp_path_factory.mktemp("e2e"))
