"""The holdout guard (``shared/holdout-guard/guard.py``) behind a typed interface.

The guard is not ours and is not copied into the project: it is loaded from its folder, and a
build refuses to start without it.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np

from voxguard.audio.types import FloatArray

DEFAULT_GUARD_DIR = Path(__file__).resolve().parents[5] / "shared" / "holdout-guard"


class GuardUnavailable(RuntimeError):
    """The guard's folder is missing or broken; nothing is built without it."""


class HoldoutGuard:
    def __init__(self, folder: Path = DEFAULT_GUARD_DIR) -> None:
        script = folder / "guard.py"
        if not script.is_file():
            raise GuardUnavailable(
                f"No holdout guard at {script}: every clip must pass it. Pass --guard DIR "
                "(the folder with guard.py, reserved.json and envelopes.npz)."
            )
        spec = importlib.util.spec_from_file_location("voxguard_holdout_guard", script)
        if spec is None or spec.loader is None:
            raise GuardUnavailable(f"{script} cannot be imported")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        self._guard: Any = module.Guard(folder)

    def repo_reserved(self, repo: str) -> bool:
        return bool(self._guard.repo_reserved(repo))

    def blob_reason(self, blob: str) -> str | None:
        reason = self._guard.reason(blob=blob)
        return None if reason is None else str(reason)

    def audio_reason(self, samples: FloatArray) -> str | None:
        reason = self._guard.reason(audio=np.asarray(samples, dtype=np.float32))
        return None if reason is None else str(reason)

    def clip_reason(self, samples: FloatArray, repo: str) -> str | None:
        """Why a clip of ``repo`` is left out: a copy of reserved audio, or a reserved
        repository; ``None`` when it may be used."""
        return self.audio_reason(samples) or (
            "reserved repository" if self.repo_reserved(repo) else None
        )
