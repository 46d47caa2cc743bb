"""Query specifications shared by the repositories, the services and the API's query strings."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, Field

from voxguard.store.models import utcnow

RECENT = timedelta(hours=24)
# Beyond any table here, and within what every back end takes as an OFFSET (SQLite refuses
# integers over 2**63, PostgreSQL's OFFSET is a bigint).
MAX_OFFSET = 2**31 - 1


class TimeWindow(BaseModel):
    since: datetime | None = None
    until: datetime | None = None
    recent: bool = Field(default=False, description="only the last 24 hours")
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)

    def start(self) -> datetime | None:
        if not self.recent:
            return self.since
        cutoff = utcnow() - RECENT
        return max(self.since, cutoff) if self.since else cutoff


class AlertFilter(TimeWindow):
    status: str | None = Field(default=None, pattern="^(PENDING|ACKNOWLEDGED|RESOLVED|DISMISSED)$")
    level: str | None = Field(default=None, pattern="^(LOW|MEDIUM|HIGH)$")
    speaker_id: str | None = None


class EventFilter(TimeWindow):
    operation: str | None = None
    speaker_id: str | None = None


class JobFilter(TimeWindow):
    status: str | None = Field(
        default=None, pattern="^(queued|running|succeeded|failed|cancelled)$"
    )
    kind: str | None = Field(default=None, pattern="^(detect|analyze|retrain|reembed)$")
