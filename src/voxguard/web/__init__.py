"""The web app's built bundle (``web/`` built by Vite into ``static/``), shipped as package data."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def static_dir() -> Path:
    """Where the built bundle lives; it holds ``index.html`` once ``make web`` has run."""
    return Path(str(files("voxguard.web") / "static"))
