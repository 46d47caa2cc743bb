"""Kept enrollment recordings (opt-in, VOXGUARD_KEEP_ENROLLMENT_AUDIO): written encrypted,
read back to re-embed a speaker with a new speaker model, removed with their speaker.

Each recording's original bytes are encrypted with the voiceprint key and written as one
owner-only file named by the SHA-256 of the encrypted bytes (``BlobStore``): staged first,
published only once the rows are written, so that a refused enrollment keeps nothing. A
failed commit after publishing, or a file that could not be removed, leaves a file no row
refers to; ``sweep`` removes those.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from sqlalchemy.orm import Session

from voxguard.audio.analysis import AnalyzedAudio
from voxguard.config import Settings
from voxguard.errors import SampleUnreadable
from voxguard.services.audio_input import AudioInput
from voxguard.store.blobs import BlobStore
from voxguard.store.crypto import VoiceprintCipher
from voxguard.store.models import SpeakerSample
from voxguard.store.speaker_samples import SpeakerSampleRepository

# A file without a row is left alone this long: an enrollment in flight has published its
# files but not yet committed its rows.
ORPHAN_GRACE_S = 3600.0


class SpeakerSamples:
    """``settings`` and ``cipher`` are needed to write, read or sweep files; ``forget``
    without settings removes the rows and leaves the files to the sweep."""

    def __init__(
        self,
        session: Session,
        settings: Settings | None,
        cipher: VoiceprintCipher | None = None,
    ) -> None:
        self.repo = SpeakerSampleRepository(session)
        self._files = BlobStore(settings.speaker_samples_dir) if settings else None
        self._cipher = cipher

    @property
    def blobs(self) -> BlobStore:
        if self._files is None:
            raise RuntimeError("SpeakerSamples needs the settings to reach the files")
        return self._files

    @property
    def cipher(self) -> VoiceprintCipher:
        if self._cipher is None:
            raise RuntimeError("SpeakerSamples needs the cipher to write or read recordings")
        return self._cipher

    def keep(
        self, speaker_id: str, inputs: Sequence[AudioInput], analyzed: Sequence[AnalyzedAudio]
    ) -> int:
        """Encrypt and store the recordings of one enrollment; how many were kept. Call it
        last in the unit of work: its files are in place once it returns."""
        with self.blobs.staging() as staging:
            rows = [
                SpeakerSample(
                    speaker_id=speaker_id,
                    sha256=staging.add(self.cipher.encrypt(item.data)),
                    filename=item.filename[:255],
                    size_bytes=len(item.data),
                    duration_s=round(audio.clip.metadata.duration_s, 3),
                )
                for item, audio in zip(inputs, analyzed, strict=True)
            ]
            self.repo.add_all(rows)
            staging.publish()
        return len(rows)

    def kept(self, speaker_id: str) -> Sequence[SpeakerSample]:
        return self.repo.for_speaker(speaker_id)

    def read(self, sample: SpeakerSample) -> AudioInput:
        """The recording as it was enrolled, decrypted."""
        try:
            token = self.blobs.path(sample.sha256).read_bytes()
        except OSError as exc:
            raise SampleUnreadable(
                f"{sample.filename}: the kept recording's file is missing ({exc.strerror}).",
                sample_id=sample.id,
            ) from exc
        if hashlib.sha256(token).hexdigest() != sample.sha256:
            raise SampleUnreadable(
                f"{sample.filename}: the kept recording's file is damaged (its SHA-256 does "
                "not match).",
                sample_id=sample.id,
            )
        return AudioInput(filename=sample.filename, data=self.cipher.decrypt(token))

    def forget(self, speaker_id: str) -> int:
        """Remove the speaker's rows now and their files once the change commits; how many."""
        hashes = self.repo.delete_for(speaker_id)
        files = self._files
        if hashes and files is not None:
            self.repo.after_commit(lambda: files.remove(hashes))
        return len(hashes)

    def sweep(self) -> int:
        """Remove files no row refers to (older than ``ORPHAN_GRACE_S``) and leftover staging
        folders; how many files."""
        known = self.repo.all_hashes()
        return len(self.blobs.sweep(known.__contains__, ORPHAN_GRACE_S))
