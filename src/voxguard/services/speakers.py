"""Enrollment and speaker management."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy.orm import Session

from voxguard.audio.analysis import AnalyzedAudio
from voxguard.behavior import BehaviorProfile, extract_profile
from voxguard.config import Settings
from voxguard.errors import Conflict, InvalidInput, SpeakerNotFound
from voxguard.services.audio_input import AudioInput, analyze_all, quality_of
from voxguard.services.engines import require_speaker
from voxguard.services.runtime import Runtime
from voxguard.services.schemas import EnrollOut, SampleOut, SpeakerOut, SpeakerPage
from voxguard.services.speaker_samples import SpeakerSamples
from voxguard.services.stages import stage
from voxguard.speaker.types import Voiceprint
from voxguard.store.audit import AuditRepository
from voxguard.store.models import Speaker
from voxguard.store.speakers import SpeakerRepository


class SpeakerDirectory:
    """Reading and deleting speakers: needs the store only, no models. ``settings`` locate
    kept enrollment recordings: without them a deleted speaker's files are left to the
    sweep (their rows go with the speaker either way)."""

    def __init__(self, session: Session, actor: str, settings: Settings | None = None) -> None:
        self.repo = SpeakerRepository(session)
        self.audit = AuditRepository(session)
        self.actor = actor
        self.settings = settings

    def list(
        self,
        offset: int = 0,
        limit: int = 50,
        search: str | None = None,
        stale_for: str | None = None,
    ) -> SpeakerPage:
        """``stale_for``: only speakers with no voiceprint of that encoder version."""
        rows, total = self.repo.page(offset, limit, search, stale_for)
        items = [SpeakerOut.model_validate(r) for r in rows]
        return SpeakerPage(items=items, total=total, offset=offset, limit=limit)

    def get(self, speaker_id: str) -> SpeakerOut:
        return SpeakerOut.model_validate(self._get(speaker_id))

    def resolve(self, name_or_id: str) -> SpeakerOut:
        """A speaker by id or by (case-insensitive, unique) display name; for the CLI."""
        row = self.repo.get(name_or_id)
        if row is None:
            matches = self.repo.by_name(name_or_id)
            if len(matches) > 1:
                raise Conflict(
                    f"{len(matches)} speakers are named {name_or_id!r}; use the id.",
                    ids=[m.id for m in matches],
                )
            row = matches[0] if matches else None
        if row is None:
            raise SpeakerNotFound(f"No speaker with id or name {name_or_id!r}.")
        return SpeakerOut.model_validate(row)

    def delete(self, speaker_id: str) -> None:
        speaker = self._get(speaker_id)
        removed = SpeakerSamples(self.repo.session, self.settings).forget(speaker.id)
        self.audit.record(
            self.actor,
            "delete",
            "speaker",
            speaker.id,
            name=speaker.display_name,
            **({"recordings_removed": removed} if removed else {}),
        )
        self.repo.delete(speaker)

    def _get(self, speaker_id: str) -> Speaker:
        speaker = self.repo.get(speaker_id)
        if speaker is None:
            raise SpeakerNotFound(f"No speaker with id {speaker_id!r}.", speaker_id=speaker_id)
        return speaker


class EnrollmentService(SpeakerDirectory):
    """Enrollment and added samples: needs the speaker engine."""

    def __init__(self, runtime: Runtime, session: Session, actor: str) -> None:
        super().__init__(session, actor, runtime.settings)
        self.runtime = runtime

    def enroll(
        self, name: str, inputs: Sequence[AudioInput], external_id: str | None = None
    ) -> EnrollOut:
        name = name.strip()
        if not name or len(name) > 200:
            raise InvalidInput("A speaker name of 1 to 200 characters is required.")
        if external_id and self.repo.by_external_id(external_id):
            raise Conflict(f"A speaker with external id {external_id!r} already exists.")
        speaker = Speaker(display_name=name, external_id=external_id or None)
        return self._add(speaker, inputs, action="enroll")

    def add_samples(self, speaker_id: str, inputs: Sequence[AudioInput]) -> EnrollOut:
        return self._add(self._get(speaker_id), inputs, action="add_samples")

    def _add(self, speaker: Speaker, inputs: Sequence[AudioInput], action: str) -> EnrollOut:
        limit = self.runtime.settings.max_enroll_files
        analyzed = analyze_all(self.runtime.front_end, inputs, limit, enrollment=True)
        engine = require_speaker(self.runtime.speaker)
        with stage("embed"):
            embeddings = [engine.embed(audio, variants=True) for audio in analyzed]

        cipher = self.runtime.store.cipher
        existing = None
        if speaker.id is not None:
            row = self.repo.voiceprint(speaker.id, engine.model_version)
            existing = Voiceprint.from_bytes(cipher.decrypt(row.ciphertext)) if row else None
        voiceprint = engine.enroll(embeddings, existing=existing)

        self.repo.add(speaker)
        self._save(speaker, engine.model_version, voiceprint)
        with stage("behavior"):
            profile = _merge_profiles(speaker.behavior_profile, analyzed)
        speaker.behavior_profile = profile.to_dict()
        kept = 0
        if self.runtime.settings.keep_enrollment_audio:
            archive = SpeakerSamples(self.repo.session, self.runtime.settings, cipher)
            kept = archive.keep(speaker.id, inputs, analyzed)
        self.audit.record(
            self.actor,
            action,
            "speaker",
            speaker.id,
            name=speaker.display_name,
            files=[i.filename for i in inputs],
            model_version=engine.model_version,
            recordings_kept=kept,
        )
        self.repo.session.flush()
        samples = [
            SampleOut(filename=i.filename, speech_s=a.quality.speech_s, quality=quality_of(a))
            for i, a in zip(inputs, analyzed, strict=True)
        ]
        return EnrollOut(
            speaker=SpeakerOut.model_validate(speaker),
            samples=samples,
            model_version=engine.model_version,
            recordings_kept=kept,
        )

    def reembed(self, speaker_id: str, inputs: Iterable[AudioInput], job_id: str) -> SpeakerOut:
        """A voiceprint of the loaded speaker model from the speaker's kept recordings, made
        as enrollment makes one (each recording checked and embedded in turn, one in memory
        at a time), stored beside the voiceprints of older models."""
        speaker = self._get(speaker_id)
        engine = require_speaker(self.runtime.speaker)
        embeddings = []
        names = []
        for item in inputs:
            (audio,) = analyze_all(self.runtime.front_end, [item], 1, enrollment=True)
            embeddings.append(engine.embed(audio, variants=True))
            names.append(item.filename)
        self._save(speaker, engine.model_version, engine.enroll(embeddings))
        self.audit.record(
            self.actor,
            "reembed",
            "speaker",
            speaker.id,
            name=speaker.display_name,
            files=names,
            model_version=engine.model_version,
            job_id=job_id,
        )
        self.repo.session.flush()
        return SpeakerOut.model_validate(speaker)

    def _save(self, speaker: Speaker, model_version: str, voiceprint: Voiceprint) -> None:
        token = self.runtime.store.cipher.encrypt(voiceprint.to_bytes())
        self.repo.save_voiceprint(speaker.id, model_version, token)
        speaker.enrollment_count = voiceprint.n_samples
        speaker.speech_seconds = round(voiceprint.speech_s, 3)
        speaker.quality = round(voiceprint.quality, 4)


def _merge_profiles(
    stored: dict[str, object] | None, analyzed: list[AnalyzedAudio]
) -> BehaviorProfile:
    profile = BehaviorProfile.from_dict(dict(stored)) if stored else None
    for audio in analyzed:
        new = extract_profile(audio.speech)
        profile = new if profile is None else profile.merged(new)
    assert profile is not None  # at least one input
    return profile
