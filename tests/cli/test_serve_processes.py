"""What each process of ``voxguard serve`` holds: the supervisor builds neither the app nor
the models; the API workers build both from an import string (issue 22: no model in a
process that does not serve)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

# Loaded only by a process that serves: inference, the 1:N index, the engines, the app.
SERVING_ONLY = (
    "onnxruntime",
    "faiss",
    "torch",
    "sklearn",
    "scipy.signal",
    "voxguard.services.gallery",
    "voxguard.speaker.engine",
    "voxguard.spoof.detector",
    "voxguard.api.app",
    "fastapi",
)

# `voxguard serve` as the console script runs it, up to the point where uvicorn would start
# its workers and the job process would be spawned: both recorded instead.
_SUPERVISOR = """
import json, sys
import uvicorn
from voxguard.services import job_worker

seen = {}

def run(app, **options):
    seen.update(app=app, factory=options.get("factory"), workers=options.get("workers"))
    seen["loaded"] = [name for name in SERVING_ONLY if name in sys.modules]

def start_job_process(settings, workers):
    seen["job_workers"] = workers

uvicorn.run = run
job_worker.start_job_process = start_job_process
from voxguard.cli.main import app

sys.argv = ["voxguard", "serve", "--workers", "2", "--job-workers", "1"]
try:
    app()
except SystemExit as exc:
    seen["exit"] = exc.code
print(json.dumps(seen))
"""


def test_the_serve_supervisor_imports_no_model_and_leaves_the_app_to_its_workers(
    tmp_path: Path,
) -> None:
    env = {
        **os.environ,
        "VOXGUARD_DATA_DIR": str(tmp_path / "data"),
        "VOXGUARD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "VOXGUARD_API_PORT": "1",  # never bound: uvicorn.run is recorded, not run
    }
    env.pop("VOXGUARD_DATABASE_URL", None)
    script = f"SERVING_ONLY = {SERVING_ONLY!r}\n" + _SUPERVISOR
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["loaded"] == [], "the supervisor imported what only a serving process needs"
    # Each worker imports and builds the app (and loads the models) in its own lifespan.
    assert seen["app"] == "voxguard.api.app:create_app" and seen["factory"] is True
    assert seen["workers"] == 2 and seen["job_workers"] == 1
    # The supervisor still migrated the store and made the first admin key, once.
    assert "first admin API key" in done.stdout
    assert (tmp_path / "data" / "voxguard.db").is_file()
