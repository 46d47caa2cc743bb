"""Speaker and voiceprint persistence.

Every write of a voiceprint and every deletion of a speaker is logged in the gallery change
log in the same transaction (``gallery_changes.py``), so each worker's 1:N index follows.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from sqlalchemy import ColumnElement, func, or_, select

from voxguard.store.gallery_changes import GalleryChangeRepository, GalleryOp
from voxguard.store.models import Speaker, VoiceprintRow
from voxguard.store.repository import Repository


class SpeakerRepository(Repository[Speaker]):
    model = Speaker

    def by_name(self, name: str) -> Sequence[Speaker]:
        stmt = select(Speaker).where(func.lower(Speaker.display_name) == name.lower())
        return self.session.scalars(stmt.order_by(Speaker.created_at)).all()

    def by_external_id(self, external_id: str) -> Speaker | None:
        return self.session.scalars(
            select(Speaker).where(Speaker.external_id == external_id)
        ).first()

    def page(
        self,
        offset: int,
        limit: int,
        search: str | None = None,
        without_version: str | None = None,
    ) -> tuple[Sequence[Speaker], int]:
        """A page of speakers, oldest first; ``search`` keeps names or external ids that
        contain it (case-insensitive); ``without_version`` keeps the speakers who have no
        voiceprint made by that model version (stale: they must be enrolled again)."""
        where: list[ColumnElement[bool]] = []
        if without_version:
            current = select(VoiceprintRow.speaker_id).where(
                VoiceprintRow.model_version == without_version
            )
            where.append(Speaker.id.not_in(current))
        if search:
            text = search.lower()
            where.append(
                or_(
                    func.lower(Speaker.display_name).contains(text, autoescape=True),
                    func.lower(Speaker.external_id).contains(text, autoescape=True),
                )
            )
        total = self.session.scalar(select(func.count()).select_from(Speaker).where(*where)) or 0
        stmt = (
            select(Speaker)
            .where(*where)
            .order_by(Speaker.created_at, Speaker.id)
            .offset(offset)
            .limit(limit)
        )
        return self.session.scalars(stmt).all(), total

    def names(self, ids: Sequence[str]) -> dict[str, str]:
        if not ids:
            return {}
        rows = self.session.execute(
            select(Speaker.id, Speaker.display_name).where(Speaker.id.in_(ids))
        )
        return {row.id: row.display_name for row in rows}

    def delete(self, speaker: Speaker) -> None:
        speaker_id = speaker.id
        self.session.delete(speaker)
        self.session.flush()
        GalleryChangeRepository(self.session).record(speaker_id, GalleryOp.DELETE)

    def voiceprint(self, speaker_id: str, model_version: str) -> VoiceprintRow | None:
        stmt = select(VoiceprintRow).where(
            VoiceprintRow.speaker_id == speaker_id, VoiceprintRow.model_version == model_version
        )
        return self.session.scalars(stmt).first()

    def save_voiceprint(self, speaker_id: str, model_version: str, ciphertext: bytes) -> None:
        row = self.voiceprint(speaker_id, model_version)
        if row is None:
            row = VoiceprintRow(
                speaker_id=speaker_id, model_version=model_version, ciphertext=ciphertext
            )
            self.session.add(row)
        else:
            row.ciphertext = ciphertext
        self.session.flush()
        GalleryChangeRepository(self.session).record(speaker_id, GalleryOp.ENROLL)

    def gallery(self, model_version: str) -> Sequence[tuple[str, bytes]]:
        """(speaker id, encrypted voiceprint) of every speaker enrolled with ``model_version``."""
        return [pair for batch in self.gallery_batches(model_version) for pair in batch]

    def gallery_batches(
        self, model_version: str, batch_size: int = 5000
    ) -> Iterator[list[tuple[str, bytes]]]:
        """``gallery`` in batches, streamed from the database (a million rows never sit in
        memory at once)."""
        stmt = (
            select(VoiceprintRow.speaker_id, VoiceprintRow.ciphertext)
            .where(VoiceprintRow.model_version == model_version)
            .execution_options(yield_per=batch_size)
        )
        for partition in self.session.execute(stmt).partitions():
            yield [(row.speaker_id, row.ciphertext) for row in partition]

    def gallery_count(self, model_version: str) -> int:
        stmt = select(func.count()).where(VoiceprintRow.model_version == model_version)
        return int(self.session.scalar(stmt) or 0)

    def voiceprints_of(self, speaker_ids: Sequence[str], model_version: str) -> dict[str, bytes]:
        """Encrypted ``model_version`` voiceprints of those of ``speaker_ids`` that have one."""
        found: dict[str, bytes] = {}
        for start in range(0, len(speaker_ids), 500):
            stmt = select(VoiceprintRow.speaker_id, VoiceprintRow.ciphertext).where(
                VoiceprintRow.model_version == model_version,
                VoiceprintRow.speaker_id.in_(speaker_ids[start : start + 500]),
            )
            found.update((row.speaker_id, row.ciphertext) for row in self.session.execute(stmt))
        return found

    def any_voiceprint(self) -> bytes | None:
        return self.session.scalar(select(VoiceprintRow.ciphertext).limit(1))
