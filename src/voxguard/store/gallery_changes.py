"""The gallery version and its change log: how workers keep their 1:N index in step.

Every enrollment and deletion raises ``meta.gallery_version`` by one and logs (version,
speaker, op) in the same transaction. The raise is a single ``UPDATE`` of one row, which
PostgreSQL keeps locked until commit (SQLite has one writer anyway), so versions are handed
out in commit order: once a reader sees version v, every change up to v is visible to it.
A worker reads the version on each request (one query) and, when it moved, reads the rows
after its own version and applies just those speakers. The log is pruned from its old end
(``prune``); what remains still has no gaps, so a worker that finds one knows it fell behind
the pruned part and rebuilds instead of replaying.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Integer, String, cast, delete, select, update
from sqlalchemy.orm import Session

from voxguard.store.models import GalleryChange, Meta

VERSION_KEY = "gallery_version"
EPOCH_KEY = "gallery_epoch"


class GalleryOp:
    ENROLL = "enroll"  # a voiceprint was stored or replaced
    DELETE = "delete"  # the speaker and all their voiceprints are gone


@dataclass(frozen=True)
class GalleryState:
    """Which database (``epoch``) at which version."""

    epoch: str
    version: int


class GalleryChangeRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def state(self) -> GalleryState:
        stmt = select(Meta.key, Meta.value).where(Meta.key.in_((VERSION_KEY, EPOCH_KEY)))
        rows = {key: value for key, value in self.session.execute(stmt)}
        return GalleryState(rows.get(EPOCH_KEY, ""), int(rows.get(VERSION_KEY) or 0))

    def record(self, speaker_id: str, op: str) -> int:
        """Raise the gallery version and log ``op`` on ``speaker_id`` under it."""
        bumped = self.session.execute(
            update(Meta)
            .where(Meta.key == VERSION_KEY)
            .values(value=cast(cast(Meta.value, Integer) + 1, String))
            .execution_options(synchronize_session=False)
        )
        # The row is written by the migration; only a hand-made schema lacks it.
        if not getattr(bumped, "rowcount", 0):
            self.session.add(Meta(key=VERSION_KEY, value="1"))
            self.session.flush()
        version = int(self.session.scalar(select(Meta.value).where(Meta.key == VERSION_KEY)) or 0)
        self.session.add(GalleryChange(version=version, speaker_id=speaker_id, op=op))
        self.session.flush()
        return version

    def since(self, version: int, limit: int | None = None) -> Sequence[GalleryChange]:
        """The changes after ``version``, oldest first (at most ``limit``)."""
        stmt = (
            select(GalleryChange)
            .where(GalleryChange.version > version)
            .order_by(GalleryChange.version)
            .limit(limit)
        )
        return self.session.scalars(stmt).all()

    def prune(self, through: int) -> int:
        """Delete the changes up to version ``through``; how many there were."""
        result = self.session.execute(
            delete(GalleryChange)
            .where(GalleryChange.version <= through)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)
