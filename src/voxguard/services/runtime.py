"""Everything loaded once per process (models, store) and shared by the API and the CLI."""

from __future__ import annotations

from dataclasses import dataclass

from voxguard.audio.analysis import AudioFrontEnd
from voxguard.config import Settings
from voxguard.risk import RiskPolicy
from voxguard.services.engines import Loaded, load_speaker_engine, load_spoof_detector
from voxguard.services.ratelimit import RateLimiter
from voxguard.store.setup import Store, open_store


@dataclass
class Runtime:
    settings: Settings
    store: Store
    front_end: AudioFrontEnd
    speaker: Loaded
    spoof: Loaded
    policy: RiskPolicy
    limiter: RateLimiter

    def close(self) -> None:
        self.store.close()


def build_runtime(
    settings: Settings, speaker: Loaded | None = None, spoof: Loaded | None = None
) -> Runtime:
    """Open the store (migrating it) and load the models; engines may be injected (tests)."""
    store = open_store(settings)
    return Runtime(
        settings=settings,
        store=store,
        front_end=AudioFrontEnd(settings),
        speaker=speaker or load_speaker_engine(settings),
        spoof=spoof or load_spoof_detector(settings),
        policy=RiskPolicy.from_settings(settings),
        limiter=RateLimiter(settings.rate_limit_per_minute / 60.0, settings.rate_limit_burst),
    )
