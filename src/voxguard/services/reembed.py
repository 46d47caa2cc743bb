"""Re-embedding speakers after a speaker model change: the job's submission and its work.

Voiceprints are tagged with the model that made them, and a new model cannot score old
ones. The ``reembed`` job goes through every speaker with no voiceprint of the loaded model:
one whose enrollment recordings were all kept (VOXGUARD_KEEP_ENROLLMENT_AUDIO) gets a new
voiceprint made from them as enrollment makes one, stored beside the old ones; any other is
listed as having to enroll again. Each speaker is one unit of work, committed together with
the job's progress and summary, so a run that stops for any reason can be taken up again:
speakers done are no longer stale, and the summary carries them over.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy.orm import Session

from voxguard.errors import Conflict, ModelMismatch, VoxGuardError
from voxguard.services.engines import require_speaker
from voxguard.services.job_queue import JobQueue
from voxguard.services.job_schemas import JobKind, JobOut, JobStatus
from voxguard.services.jobs import enqueue
from voxguard.services.runtime import Runtime
from voxguard.services.speaker_samples import SpeakerSamples
from voxguard.services.speakers import EnrollmentService
from voxguard.store.audit import AuditRepository
from voxguard.store.db import unit_of_work
from voxguard.store.filters import JobFilter
from voxguard.store.jobs import JobRepository
from voxguard.store.models import Job, new_id
from voxguard.store.speaker_samples import SpeakerSampleRepository, StaleSpeaker
from voxguard.store.speakers import SpeakerRepository

# Speakers named in each list of the summary, at most (the counts are always whole;
# ``GET /v1/speakers?stale=true`` lists every speaker still without a current voiceprint).
LIST_LIMIT = 1000
STALE_LINK = "/v1/speakers?stale=true"

# (the unit of work of the step, the summary so far, speakers done, of them failed, total):
# records the job's progress in that unit of work; raises to stop the run.
Report = Callable[[Session, dict[str, Any], int, int, int], None]


def submit_reembed(runtime: Runtime, queue: JobQueue, actor: str) -> JobOut:
    """Record a job that re-embeds the speakers with no voiceprint of the loaded speaker
    model, and queue it; refused while another one is queued or running."""
    version = require_speaker(runtime.speaker).model_version
    with unit_of_work(runtime.store.sessions) as session:
        jobs = JobRepository(session)
        for status in (JobStatus.QUEUED, JobStatus.RUNNING):
            active = jobs.list(JobFilter(kind=JobKind.REEMBED, status=status, limit=1))
            if active:
                raise Conflict(
                    f"Re-embedding job {active[0].id} is {status} already: wait for it "
                    f"(GET /v1/jobs/{active[0].id}).",
                    job_id=active[0].id,
                )
        stale = SpeakerSampleRepository(session).stale(version)
        job_id = new_id()
        row = jobs.add(
            Job(
                id=job_id,
                kind=JobKind.REEMBED,
                status=JobStatus.QUEUED,
                created_by=actor,
                files_total=len(stale),
                params={"model_version": version},
            )
        )
        AuditRepository(session).record(
            actor,
            "create",
            "job",
            job_id,
            kind=str(JobKind.REEMBED),
            model_version=version,
            speakers=len(stale),
        )
        created = JobOut.of(row)
    enqueue(runtime.store, runtime.settings, queue, job_id)
    return created


@dataclass
class Tally:
    """What the run found, speaker by speaker; ``summary`` is the job's summary."""

    model_version: str
    total: int = 0
    reembedded_count: int = 0
    must_reenroll_count: int = 0
    failed_count: int = 0
    skipped: int = 0  # deleted, or given a current voiceprint meanwhile
    orphans_removed: int = 0
    reembedded: list[dict[str, str]] = field(default_factory=list)
    must_reenroll: list[dict[str, str]] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)

    @classmethod
    def resumed(cls, model_version: str, previous: dict[str, Any] | None) -> Tally:
        """A new tally, with the speakers an earlier run of the job re-embedded."""
        tally = cls(model_version)
        if previous and previous.get("model_version") == model_version:
            tally.reembedded = list(previous.get("reembedded_speakers", []))
            tally.reembedded_count = int(previous.get("reembedded", 0))
            tally.skipped = int(previous.get("skipped", 0))
        return tally

    def copy(self) -> Tally:
        return replace(
            self,
            reembedded=list(self.reembedded),
            must_reenroll=list(self.must_reenroll),
            failed=list(self.failed),
        )

    @property
    def done(self) -> int:
        return self.reembedded_count + self.must_reenroll_count + self.failed_count + self.skipped

    def add(self, bucket: list[dict[str, str]], entry: dict[str, str]) -> None:
        if len(bucket) < LIST_LIMIT:
            bucket.append(entry)

    def summary(self) -> dict[str, Any]:
        return {
            "model_version": self.model_version,
            "speakers": self.total,
            "reembedded": self.reembedded_count,
            "must_reenroll": self.must_reenroll_count,
            "failed": self.failed_count,
            "skipped": self.skipped,
            "reembedded_speakers": self.reembedded,
            "must_reenroll_speakers": self.must_reenroll,
            "failed_speakers": self.failed,
            "lists_truncated": max(
                self.reembedded_count, self.must_reenroll_count, self.failed_count
            )
            > LIST_LIMIT,
            "orphan_files_removed": self.orphans_removed,
            "links": {"stale": STALE_LINK},
        }


def reembed_speakers(
    runtime: Runtime,
    job_id: str,
    actor: str,
    model_version: str,
    report: Report,
    previous: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Re-embed every speaker with no voiceprint of ``model_version`` whose recordings are
    all kept, and list the others; the summary. ``previous``: the summary an earlier run of
    the same job left (its re-embedded speakers are carried over)."""
    engine = require_speaker(runtime.speaker)
    if engine.model_version != model_version:
        raise ModelMismatch(
            f"This worker's speaker model is {engine.model_version}, but the job re-embeds "
            f"for {model_version} (the model of the server that took it): run the API and "
            "the job workers with the same speaker model.",
            loaded=engine.model_version,
            wanted=model_version,
        )
    settings, sessions = runtime.settings, runtime.store.sessions
    tally = Tally.resumed(model_version, previous)
    with unit_of_work(sessions) as session:
        samples = SpeakerSamples(session, settings)
        tally.orphans_removed = samples.sweep()
        stale = SpeakerSampleRepository(session).stale(model_version)
        tally.total = tally.done + len(stale)
        todo: list[StaleSpeaker] = []
        for speaker in stale:
            reason = _why_not(speaker)
            if reason is None:
                todo.append(speaker)
                continue
            tally.must_reenroll_count += 1
            tally.add(tally.must_reenroll, _entry(speaker, reason))
        report(session, tally.summary(), tally.done, tally.failed_count, tally.total)
    for speaker in todo:
        step = tally.copy()  # what the tally becomes once this speaker's work commits
        try:
            with unit_of_work(sessions) as session:
                if _current(session, speaker.id, model_version):
                    step.skipped += 1
                else:
                    _reembed_one(runtime, session, speaker, job_id, actor)
                    step.reembedded_count += 1
                    step.add(step.reembedded, {"id": speaker.id, "name": speaker.display_name})
                report(session, step.summary(), step.done, step.failed_count, step.total)
            tally = step
            continue
        except VoxGuardError as exc:
            reason = exc.message
        # The speaker's work was rolled back: its failure is recorded on its own.
        tally.failed_count += 1
        tally.add(tally.failed, _entry(speaker, reason))
        with unit_of_work(sessions) as session:
            report(session, tally.summary(), tally.done, tally.failed_count, tally.total)
    return tally.summary()


def _why_not(speaker: StaleSpeaker) -> str | None:
    """Why the speaker cannot be re-embedded, or None when they can."""
    if speaker.kept == 0:
        return (
            "no enrollment recording kept (enrolled while VOXGUARD_KEEP_ENROLLMENT_AUDIO was "
            "off): must enroll again"
        )
    if speaker.kept < speaker.enrollment_count:
        return (
            f"{speaker.kept} of the {speaker.enrollment_count} enrollment recordings kept: "
            "must enroll again"
        )
    return None


def _entry(speaker: StaleSpeaker, reason: str) -> dict[str, str]:
    return {"id": speaker.id, "name": speaker.display_name, "reason": reason}


def _current(session: Session, speaker_id: str, model_version: str) -> bool:
    """Deleted, or enrolled with the model meanwhile: nothing to do."""
    repo = SpeakerRepository(session)
    return repo.get(speaker_id) is None or repo.voiceprint(speaker_id, model_version) is not None


def _reembed_one(
    runtime: Runtime, session: Session, speaker: StaleSpeaker, job_id: str, actor: str
) -> None:
    samples = SpeakerSamples(session, runtime.settings, runtime.store.cipher)
    recordings = (samples.read(row) for row in samples.kept(speaker.id))
    EnrollmentService(runtime, session, actor).reembed(speaker.id, recordings, job_id)
