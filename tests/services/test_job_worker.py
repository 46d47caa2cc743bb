"""A job worker loads the models with the first job that needs them, not before: an idle
``voxguard worker`` (or ``voxguard serve``'s job process) holds none (issue 22)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from tests.api.audio import speaker_halves
from tests.api.conftest import make_settings
from tests.doubles import SpectralTestEngine
from voxguard.services import runtime as runtime_module
from voxguard.services.engines import Loaded
from voxguard.services.runtime import build_runtime

ROOT = Path(__file__).resolve().parents[2]

# ``run_worker`` as ``voxguard worker`` runs it; once it consumes, a thread records what the
# process holds, queues a detect job, waits for it, records again and stops the worker.
_WORKER = """
import io, json, os, signal, sys, threading
from tests.jobs import wait_for
from voxguard.config import get_settings
from voxguard.services import job_worker
from voxguard.services.job_files import Upload
from voxguard.services.job_schemas import JobKind
from voxguard.services.jobs import submit

audio = open(sys.argv[1], "rb").read()
seen = {}

def drive(runtime, queue):
    try:
        files = [Upload("a.wav", io.BytesIO(audio))]
        created = submit(runtime.store, runtime.settings, queue, "test", JobKind.DETECT, files)
        done = wait_for(runtime, created.id, "succeeded", "failed", timeout_s=120)
        seen["after"] = [runtime.models_loaded, "onnxruntime" in sys.modules, done.status]
    finally:
        os.kill(os.getpid(), signal.SIGTERM)

consume = job_worker.JobWorker.start

def start(self):
    consume(self)
    runtime = self.context.runtime
    seen["idle"] = [runtime.models_loaded, "onnxruntime" in sys.modules]
    threading.Thread(target=drive, args=(runtime, self.context.queue), daemon=True).start()

job_worker.JobWorker.start = start
job_worker.run_worker(get_settings(), 1)
print(json.dumps(seen))
"""


def test_a_job_worker_loads_the_models_with_its_first_job(tmp_path: Path) -> None:
    clip = tmp_path / "a.wav"
    clip.write_bytes(speaker_halves(0)[0])
    env = {
        **os.environ,
        "VOXGUARD_DATA_DIR": str(tmp_path / "data"),
        "VOXGUARD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "PYTHONPATH": str(ROOT),
    }
    for name in ("VOXGUARD_DATABASE_URL", "VOXGUARD_QUEUE_URL"):
        env.pop(name, None)
    done = subprocess.run(
        [sys.executable, "-c", _WORKER, str(clip)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["idle"] == [False, False], "a worker waiting for jobs loaded models"
    assert seen["after"] == [True, True, "succeeded"]


def test_lazily_loaded_models_load_once_for_all_threads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    real = runtime_module._load_models

    def slow_load(*args: object) -> runtime_module.Models:
        calls.append(threading.get_ident())
        time.sleep(0.2)  # the other threads arrive meanwhile
        return real(*args)  # type: ignore[arg-type]

    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'test.db'}")
    monkeypatch.setattr(runtime_module, "_load_models", slow_load)
    runtime = build_runtime(
        settings, speaker=Loaded(SpectralTestEngine()), spoof=Loaded(None, "x"), lazy=True
    )
    try:
        assert not runtime.models_loaded and calls == []
        engines: list[object] = []
        threads = [
            threading.Thread(target=lambda: engines.append(runtime.speaker.engine))
            for _ in range(6)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(calls) == 1 and runtime.models_loaded
        assert len(engines) == 6 and len({id(e) for e in engines}) == 1
    finally:
        runtime.close()
