"""Kept enrollment recordings: their rows (the encrypted files are ``BlobStore``'s), and the
speakers a new speaker model has no voiceprint for."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from sqlalchemy import delete, func, select

from voxguard.store.models import Speaker, SpeakerSample, VoiceprintRow
from voxguard.store.repository import Repository

# Bound parameters per IN (...) list: far below every backend's limit.
_CHUNK = 500


class StaleSpeaker(NamedTuple):
    """A speaker with no voiceprint of some model version, and what could rebuild one."""

    id: str
    display_name: str
    enrollment_count: int  # recordings in the speaker's latest voiceprint
    kept: int  # of their enrollment recordings, those kept


class SpeakerSampleRepository(Repository[SpeakerSample]):
    model = SpeakerSample

    def add_all(self, samples: Sequence[SpeakerSample]) -> None:
        self.session.add_all(samples)
        self.session.flush()

    def for_speaker(self, speaker_id: str) -> Sequence[SpeakerSample]:
        """The speaker's kept recordings, in the order they were enrolled."""
        stmt = (
            select(SpeakerSample)
            .where(SpeakerSample.speaker_id == speaker_id)
            .order_by(SpeakerSample.created_at, SpeakerSample.id)
        )
        return self.session.scalars(stmt).all()

    def delete_for(self, speaker_id: str) -> list[str]:
        """Remove the speaker's rows; the hashes of their files (the caller's to remove once
        this commits)."""
        hashes = list(
            self.session.scalars(
                select(SpeakerSample.sha256).where(SpeakerSample.speaker_id == speaker_id)
            )
        )
        self.session.execute(delete(SpeakerSample).where(SpeakerSample.speaker_id == speaker_id))
        self.session.flush()
        return hashes

    def all_hashes(self) -> set[str]:
        return set(self.session.scalars(select(SpeakerSample.sha256)))

    def counts_by_speaker(self) -> dict[str, int]:
        """How many recordings are kept, per speaker id."""
        stmt = select(SpeakerSample.speaker_id, func.count()).group_by(SpeakerSample.speaker_id)
        return {speaker_id: int(n) for speaker_id, n in self.session.execute(stmt)}

    def without_speaker(self) -> Sequence[SpeakerSample]:
        """Rows whose speaker is gone: the foreign key cascades, so only a database that
        did not enforce it (a SQLite connection without the pragma) leaves these."""
        stmt = select(SpeakerSample).where(SpeakerSample.speaker_id.not_in(select(Speaker.id)))
        return self.session.scalars(stmt).all()

    def delete_ids(self, sample_ids: Sequence[str]) -> None:
        for start in range(0, len(sample_ids), _CHUNK):
            chunk = sample_ids[start : start + _CHUNK]
            self.session.execute(delete(SpeakerSample).where(SpeakerSample.id.in_(chunk)))
        self.session.flush()

    def delete_all(self) -> list[str]:
        """Remove every row; the hashes of their files (the caller's to remove once this
        commits)."""
        hashes = list(self.session.scalars(select(SpeakerSample.sha256)))
        self.session.execute(delete(SpeakerSample))
        self.session.flush()
        return hashes

    def stale(self, model_version: str) -> list[StaleSpeaker]:
        """Every speaker with no voiceprint of ``model_version``, oldest first, with how many
        of their recordings are kept."""
        kept = (
            select(SpeakerSample.speaker_id, func.count().label("kept"))
            .group_by(SpeakerSample.speaker_id)
            .subquery()
        )
        current = select(VoiceprintRow.speaker_id).where(
            VoiceprintRow.model_version == model_version
        )
        stmt = (
            select(
                Speaker.id,
                Speaker.display_name,
                Speaker.enrollment_count,
                func.coalesce(kept.c.kept, 0),
            )
            .outerjoin(kept, kept.c.speaker_id == Speaker.id)
            .where(Speaker.id.not_in(current))
            .order_by(Speaker.created_at, Speaker.id)
        )
        return [
            StaleSpeaker(row[0], row[1], int(row[2] or 0), int(row[3]))
            for row in self.session.execute(stmt)
        ]
