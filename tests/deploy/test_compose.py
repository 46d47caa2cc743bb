"""deploy/compose.yaml: valid for Docker Compose, and wired as docs/deployment.md says."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "deploy" / "compose.yaml"
SECRETS = {
    "VOXGUARD_ENCRYPTION_KEY": "test-key",
    "VOXGUARD_JWT_SECRET": "test-secret",
    "POSTGRES_PASSWORD": "test-password",
}


def _compose_command() -> list[str]:
    """``docker compose`` (v2), else the older ``docker-compose``; skip without either."""
    candidates = [["docker", "compose"], ["docker-compose"]]
    for command in candidates:
        if shutil.which(command[0]) is None:
            continue
        probe = subprocess.run(
            [*command, "version"], capture_output=True, text=True, timeout=60, check=False
        )
        if probe.returncode == 0:
            return command
    pytest.skip("Docker Compose is not installed (neither `docker compose` nor docker-compose)")


def _run(command: list[str], env: dict[str, str], *extra: Path) -> subprocess.CompletedProcess[str]:
    files = [arg for path in (COMPOSE, *extra) for arg in ("-f", str(path))]
    return subprocess.run(
        [*command, *files, "config", "-q"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_docker_compose_accepts_the_file() -> None:
    command = _compose_command()
    base = {k: v for k, v in os.environ.items() if k not in SECRETS}
    checked = _run(command, base | SECRETS)
    assert checked.returncode == 0, checked.stderr
    # Without the secrets it refuses to start anything, naming what is missing (unless a
    # deploy/.env supplies them).
    if not (COMPOSE.parent / ".env").exists():
        refused = _run(command, base)
        assert refused.returncode != 0 and "deploy/.env" in refused.stderr, refused.stderr


def test_the_offline_override_swaps_only_the_third_party_images() -> None:
    offline = COMPOSE.parent / "compose.offline.yaml"
    command = _compose_command()
    base = {k: v for k, v in os.environ.items() if k not in SECRETS}
    checked = _run(command, base | SECRETS, offline)
    assert checked.returncode == 0, checked.stderr
    yaml = pytest.importorskip("yaml")
    swapped = yaml.safe_load(offline.read_text())["services"]
    assert set(swapped) == {"postgres", "redis", "proxy"}
    assert all(set(service) == {"image"} for service in swapped.values())
    assert all(s["image"].startswith("voxguard-base/") for s in swapped.values())


def _services() -> dict[str, Any]:
    yaml = pytest.importorskip("yaml")
    services: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())["services"]
    return services


def test_two_apis_and_a_worker_share_the_database_redis_secrets_and_data() -> None:
    services = _services()
    apis = sorted(name for name in services if name.startswith("api-"))
    assert apis == ["api-1", "api-2"]
    voxguard = [*apis, "worker"]
    envs = [services[name]["environment"] for name in voxguard]
    assert all(env == envs[0] for env in envs)
    env = envs[0]
    assert env["VOXGUARD_ENVIRONMENT"] == "production"
    assert env["VOXGUARD_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert env["VOXGUARD_QUEUE_URL"].startswith("redis://redis:")
    assert env["VOXGUARD_JOB_WORKERS"] == "0"  # the worker runs the jobs
    for secret in ("VOXGUARD_ENCRYPTION_KEY", "VOXGUARD_JWT_SECRET"):
        assert env[secret].startswith(f"${{{secret}:?")  # required, never a default
    assert services["worker"]["command"][:2] == ["voxguard", "worker"]
    volumes = {tuple(services[name]["volumes"]) for name in voxguard}
    assert volumes == {("voxguard-data:/var/lib/voxguard",)}
    assert {"postgres", "redis", "proxy"} <= set(services)


def test_the_proxy_spreads_requests_over_every_api() -> None:
    apis = {name for name in _services() if name.startswith("api-")}
    upstreams = set(
        re.findall(r"server (api-\d+):8000", (COMPOSE.parent / "nginx.conf").read_text())
    )
    assert upstreams == apis
