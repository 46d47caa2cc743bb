"""Locust users for ``bench/load_test.py``: a mix of check, identify, detect and enroll on
4 s clips, as a contact centre would send them. Configured by the driver through the
environment (VOXGUARD_LOAD_KEY, VOXGUARD_LOAD_CLIPS)."""

from __future__ import annotations

import os
import random
from pathlib import Path

from locust import HttpUser, between, task

KEY = os.environ["VOXGUARD_LOAD_KEY"]
CLIPS = sorted(Path(os.environ["VOXGUARD_LOAD_CLIPS"]).glob("*.wav"))
DATA = [(p.name, p.read_bytes()) for p in CLIPS]
# SteadyCaller: the mean wait between one user's checks (users / rate), set by the driver.
MEAN_WAIT_S = float(os.environ.get("VOXGUARD_LOAD_MEAN_WAIT_S", "1.0"))


class Caller(HttpUser):
    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        self.client.headers["Authorization"] = f"Bearer {KEY}"

    def _clip(self) -> dict[str, tuple[str, bytes, str]]:
        name, data = random.choice(DATA)
        return {"file": (name, data, "audio/wav")}

    @task(5)
    def check(self) -> None:
        self.client.post("/v1/check", files=self._clip(), name="check")

    @task(2)
    def identify(self) -> None:
        self.client.post("/v1/identify", files=self._clip(), name="identify")

    @task(2)
    def detect(self) -> None:
        self.client.post("/v1/detect", files=self._clip(), name="detect")

    @task(1)
    def enroll(self) -> None:
        name, data = random.choice(DATA)
        self.client.post(
            "/v1/speakers",
            data={"name": f"load-{random.randrange(10**6)}"},
            files=[("files", (name, data, "audio/wav"))],
            name="enroll",
        )


class SteadyCaller(HttpUser):
    """Checks only, at exponential intervals: with many users the arrivals are Poisson."""

    def wait_time(self) -> float:
        return random.expovariate(1.0 / MEAN_WAIT_S)

    def on_start(self) -> None:
        self.client.headers["Authorization"] = f"Bearer {KEY}"

    @task
    def check(self) -> None:
        name, data = random.choice(DATA)
        files = {"file": (name, data, "audio/wav")}
        with self.client.post("/v1/check", files=files, name="check", catch_response=True) as r:
            if r.status_code == 503:  # shed at once: its own row, so "check" is what was served
                r.request_meta["name"] = "check shed (503)"
                r.failure("shed: 503 server_busy")
