"""Bundled model files, found with importlib.resources so they work from a wheel or a checkout."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def bundled_model_path(*parts: str) -> Path:
    """Path of a file shipped under ``voxguard/models``."""
    resource = resources.files("voxguard.models").joinpath(*parts)
    return Path(str(resource))
