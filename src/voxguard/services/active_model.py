"""The spoof detector each process serves follows the registry's active version, without a
restart: at most every VOXGUARD_MODEL_CHECK_S seconds one indexed query asks which version
is active, and a changed answer loads that version (the old one serves until it is ready).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from voxguard.audio.analysis import AnalyzedAudio
from voxguard.config import Settings
from voxguard.errors import VoxGuardError
from voxguard.services.engines import SpoofAdapter, SpoofVerdict
from voxguard.services.model_registry import BUNDLED
from voxguard.store.db import SessionFactory
from voxguard.store.model_versions import ModelVersionRepository

log = logging.getLogger(__name__)


class ActiveSpoof:
    """``SpoofDetectorLike`` over whichever spoof model version is active."""

    def __init__(self, settings: Settings, sessions: SessionFactory, bundled: SpoofAdapter) -> None:
        self.settings = settings
        self._sessions = sessions
        self._bundled = bundled
        self._current = bundled
        self._version = BUNDLED
        self._checked = float("-inf")
        self._lock = threading.Lock()

    @property
    def version(self) -> str:
        """The registry version served now (``bundled`` or a retrained one)."""
        self.current()
        return self._version

    def current(self) -> SpoofAdapter:
        if time.monotonic() - self._checked < self.settings.model_check_s:
            return self._current
        with self._lock:
            if time.monotonic() - self._checked >= self.settings.model_check_s:
                self._checked = time.monotonic()
                self._switch()
            return self._current

    def _switch(self) -> None:
        try:
            with self._sessions() as session:
                found = ModelVersionRepository(session).active_version("spoof")
        except SQLAlchemyError:
            log.warning("could not ask which spoof model is active", exc_info=True)
            return
        version, path = found if found else (BUNDLED, None)
        if version == self._version:
            return
        if path is None:
            adapter = self._bundled
        else:
            from voxguard.spoof.detector import SpoofDetector

            try:
                detector = SpoofDetector(
                    model_dir=self.settings.data_dir / path, settings=self.settings
                )
            except VoxGuardError as exc:
                log.error("spoof model %s is active but cannot be loaded: %s", version, exc.message)
                return
            adapter = SpoofAdapter(detector)
        log.info("spoof model: %s -> %s", self._version, version)
        self._current, self._version = adapter, version

    @property
    def model_version(self) -> str:
        return self.current().model_version

    @property
    def threshold(self) -> float:
        return self.current().threshold

    @property
    def channel_thresholds(self) -> dict[str, float]:
        return self.current().channel_thresholds

    @property
    def operating_points(self) -> dict[str, Any] | None:
        return self.current().operating_points

    @property
    def detector(self) -> Any:
        return self.current().detector

    def detect(self, analyzed: AnalyzedAudio) -> SpoofVerdict:
        return self.current().detect(analyzed)
