"""Locust users for ``bench/load_test.py``: a mix of check, identify, detect and enroll on
4 s clips, as a contact centre would send them. Configured by the driver through the
environment (VOXGUARD_LOAD_KEY, VOXGUARD_LOAD_CLIPS)."""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

from locust import HttpUser, between, task

KEY = os.environ["VOXGUARD_LOAD_KEY"]
CLIPS = sorted(Path(os.environ["VOXGUARD_LOAD_CLIPS"]).glob("*.wav"))
DATA = [(p.name, p.read_bytes()) for p in CLIPS]
# SteadyCaller: the mean wait between one user's checks (users / rate), set by the driver.
MEAN_WAIT_S = float(os.environ.get("VOXGUARD_LOAD_MEAN_WAIT_S", "1.0"))


def post(user: HttpUser, path: str, name: str, **kwargs: object) -> None:
    """POST and count a 503 (shed at once) in its own row, so ``name`` holds only the requests
    the server accepted and served."""
    with user.client.post(path, name=name, catch_response=True, **kwargs) as response:
        if response.status_code == 503:
            response.request_meta["name"] = f"{name} shed (503)"
            response.failure("shed: 503 server_busy")


def clip() -> dict[str, tuple[str, bytes, str]]:
    name, data = random.choice(DATA)
    return {"file": (name, data, "audio/wav")}


class Caller(HttpUser):
    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        self.client.headers["Authorization"] = f"Bearer {KEY}"

    @task(5)
    def check(self) -> None:
        post(self, "/v1/check", "check", files=clip())

    @task(2)
    def identify(self) -> None:
        post(self, "/v1/identify", "identify", files=clip())

    @task(2)
    def detect(self) -> None:
        post(self, "/v1/detect", "detect", files=clip())

    @task(1)
    def enroll(self) -> None:
        name, data = random.choice(DATA)
        post(
            self,
            "/v1/speakers",
            "enroll",
            data={"name": f"load-{random.randrange(10**6)}"},
            files=[("files", (name, data, "audio/wav"))],
        )


class SteadyCaller(HttpUser):
    """Checks only, at exponential intervals: with many users the arrivals are Poisson.

    Open loop: each user's next check is scheduled an exponential time after its previous
    one was *sent*, not after its answer came back, so the offered rate is the rate asked
    for whatever the latency (a user late by more than its gap sends at once)."""

    def wait_time(self) -> float:
        self.next_at += random.expovariate(1.0 / MEAN_WAIT_S)
        return max(0.0, self.next_at - time.monotonic())

    def on_start(self) -> None:
        self.client.headers["Authorization"] = f"Bearer {KEY}"
        self.next_at = time.monotonic()

    @task
    def check(self) -> None:
        post(self, "/v1/check", "check", files=clip())
