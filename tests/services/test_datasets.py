from __future__ import annotations

import io
import json
import os
import re
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from cryptography.fernet import Fernet

from tests.api.audio import silence, wav
from tests.datasets import (
    LABELS,
    SYSTEMS,
    blob_files,
    labelled_folder,
    labelled_zip,
    labels_csv,
    recordings,
    stored,
    zip_bytes,
)
from voxguard.audio.analysis import AudioFrontEnd
from voxguard.config import Settings
from voxguard.errors import (
    ArchiveTooLarge,
    AudioDecodeError,
    AudioTooShort,
    DatasetNotFound,
    DatasetTooLarge,
    DuplicateRecording,
    InvalidDataset,
    InvalidLabels,
    NoSpeechDetected,
    SingleClassDataset,
    UnsafeArchive,
    UnsupportedAudioFormat,
    VoxGuardError,
)
from voxguard.services.audio_input import AudioInput
from voxguard.services.dataset_inputs import DatasetInput, from_files, from_zip, open_dataset_input
from voxguard.services.datasets import ORPHAN_GRACE_S, DatasetService
from voxguard.store.audit import AuditRepository
from voxguard.store.blobs import BlobStore
from voxguard.store.db import unit_of_work
from voxguard.store.models import Dataset, utcnow
from voxguard.store.setup import Store, open_store


class Memory:
    """Uploaded files in memory: the shape the API hands over."""

    def __init__(self, files: dict[str, bytes] | list[tuple[str, bytes]]) -> None:
        self.items = list(files.items()) if isinstance(files, dict) else files

    @property
    def names(self) -> list[str]:
        return [n for n, _ in self.items]

    def read(self, name: str) -> AudioInput:
        return AudioInput(filename=name, data=dict(self.items)[name])

    def close(self) -> None:
        pass


@pytest.fixture(scope="module")
def front_end(tmp_path_factory: pytest.TempPathFactory) -> AudioFrontEnd:
    return AudioFrontEnd(Settings(data_dir=tmp_path_factory.mktemp("fe")))


def _settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": tmp_path / "data",
        "database_url": f"sqlite:///{tmp_path / 'test.db'}",
        "encryption_key": Fernet.generate_key().decode(),
    }
    return Settings(**(values | overrides))  # type: ignore[arg-type]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(_settings(tmp_path))
    yield opened
    opened.close()


def _upload(
    store: Store,
    settings: Settings,
    front_end: AudioFrontEnd,
    data: DatasetInput,
    name: str | None = None,
):  # type: ignore[no-untyped-def]
    with data, unit_of_work(store.sessions) as session:
        return DatasetService(session, settings, "tester", front_end).upload(data, name)


def _files_input(files: dict[str, bytes], labels: dict[str, str]) -> DatasetInput:
    return from_files(Memory(files), [labels[n] for n in files])


def test_files_with_labels_are_stored_content_addressed(
    tmp_path: Path, store: Store, front_end: AudioFrontEnd
) -> None:
    settings = _settings(tmp_path)
    files = recordings()
    data = from_files(
        Memory(files), [LABELS[n] for n in files], [SYSTEMS.get(n, "") for n in files]
    )
    out = _upload(store, settings, front_end, data, "calls")
    assert out.name == "calls" and out.source == "files" and out.created_by == "tester"
    assert out.item_count == 4 and out.by_label == {"bonafide": 2, "spoof": 2}
    assert out.by_system == {"tts-a": 1, "tts-b": 1}
    assert out.duration_s > 4 and 0 < out.speech_s <= out.duration_s
    assert out.size_bytes == sum(len(d) for d in files.values())
    assert out.expires_at - out.created_at == timedelta(days=365)
    blobs = BlobStore(settings.datasets_dir)
    with unit_of_work(store.sessions) as session:
        detail = DatasetService(session, settings, "reader").get(out.id)
        entries = AuditRepository(session).list(out.id)
    assert [i.path for i in detail.items] == sorted(files)
    for item in detail.items:
        assert blobs.path(item.sha256).read_bytes() == files[item.path]  # the original bytes
        assert blobs.path(item.sha256).parent.name == item.sha256[:2]
        assert oct(blobs.path(item.sha256).stat().st_mode & 0o777) == "0o600"
    assert {i.path: i.label for i in detail.items}["real2.wav"] == "bonafide"  # genuine
    assert {i.path: i.label for i in detail.items}["fake2.wav"] == "spoof"  # Synthetic
    assert detail.items[0].sample_rate == 16000 and detail.items[0].codec == "pcm_s16le"
    assert [(e.action, e.entity) for e in entries] == [("create", "dataset")]
    assert entries[0].detail["by_label"] == {"bonafide": 2, "spoof": 2}
    assert not list((settings.datasets_dir / "tmp").iterdir())  # staging cleaned up


def test_json_labels_with_systems(tmp_path: Path, store: Store, front_end: AudioFrontEnd) -> None:
    files = recordings()
    mapping = {n: ({"label": lab, "system": SYSTEMS[n]} if n in SYSTEMS else lab)
               for n, lab in LABELS.items()}  # fmt: skip
    data = from_files(Memory(files), [json.dumps(mapping)])
    out = _upload(store, _settings(tmp_path), front_end, data)
    assert out.name == "upload" and out.by_system == {"tts-a": 1, "tts-b": 1}


def test_zip_with_csv_in_a_folder_and_no_header(
    tmp_path: Path, store: Store, front_end: AudioFrontEnd
) -> None:
    files = recordings()
    csv = "\ufeff" + "".join(f"./{p},{lab}\r\n" for p, lab in LABELS.items()) + "\n"
    members = {f"set/{n}": d for n, d in files.items()} | {
        "set/labels.csv": csv,
        "set/README.txt": "ignored",
        "__MACOSX/set/._real1.wav": b"resource fork",
    }
    archive = tmp_path / "asv.zip"
    archive.write_bytes(zip_bytes(members))
    out = _upload(
        store, _settings(tmp_path), front_end, open_dataset_input(archive, _settings(tmp_path))
    )
    assert (out.name, out.source, out.item_count) == ("asv", "zip", 4)
    assert out.by_system == {}


def test_folder_with_labels_csv(tmp_path: Path, store: Store, front_end: AudioFrontEnd) -> None:
    files = recordings()
    files["sub/fake3.wav"] = files.pop("fake2.wav")
    labels = {("sub/fake3.wav" if n == "fake2.wav" else n): lab for n, lab in LABELS.items()}
    folder = labelled_folder(tmp_path / "mine", files, labels_csv(labels))
    settings = _settings(tmp_path)
    out = _upload(store, settings, front_end, open_dataset_input(folder, settings), "named")
    assert (out.name, out.source, out.item_count) == ("named", "folder", 4)


# --- every refusal leaves no row and no file ---------------------------------------------

Case = Callable[[Path, Settings], DatasetInput]


def _zip_case(files: dict[str, bytes], csv: str | None = None, **kw: str) -> Case:
    def build(tmp_path: Path, settings: Settings) -> DatasetInput:
        path = tmp_path / "upload.zip"
        path.write_bytes(labelled_zip(files, csv, **kw))
        return from_zip(path, settings, "upload.zip")

    return build


def _files_case(files: dict[str, bytes], labels: list[str]) -> Case:
    return lambda _tmp, _settings: from_files(Memory(files), labels)


def _corrupt_last() -> dict[str, bytes]:
    files = recordings()
    files["zz-broken.wav"] = files["fake2.wav"][:60] + b"\x00garbage" * 10
    return files


def _with(extra: dict[str, bytes]) -> dict[str, bytes]:
    return recordings() | extra


Refusal = tuple[Case, type[VoxGuardError], str, dict[str, object]]


def _refusals() -> dict[str, Refusal]:
    """Built inside the test: the recordings come from the shared data (skip without)."""
    return {
        "one class only": (
            _zip_case(recordings(), labels_csv(dict.fromkeys(recordings(), "bonafide"))),
            SingleClassDataset,
            "labelled bonafide: a dataset needs both classes",
            {},
        ),
        "unknown label": (
            _zip_case(recordings(), labels_csv(LABELS | {"fake1.wav": "deepfake"})),
            InvalidLabels,
            r"labels.csv row 4: unknown label 'deepfake'; accepted: bonafide",
            {},
        ),
        "csv row without recording": (
            _zip_case(recordings(), labels_csv(LABELS | {"missing.wav": "spoof"})),
            InvalidLabels,
            r"labels.csv row 6: missing.wav is not in the .zip upload.zip",
            {},
        ),
        "recording without label": (
            _zip_case(_with({"extra.flac": b"fLaC"}), labels_csv(LABELS)),
            InvalidLabels,
            r"No label for extra.flac in the .zip upload.zip",
            {},
        ),
        "row without label": (
            _zip_case(recordings(), labels_csv(LABELS) + "real9.wav\n"),
            InvalidLabels,
            r"row 6: a path and a label are needed",
            {},
        ),
        "row with '..' path": (
            _zip_case(recordings(), labels_csv(LABELS) + "../x.wav,spoof\n"),
            InvalidLabels,
            r"row 6: path '../x.wav' is not a relative path",
            {},
        ),
        "two rows for one file": (
            _zip_case(recordings(), labels_csv(LABELS) + "real1.wav,spoof\n"),
            InvalidLabels,
            r"row 6: real1.wav is labelled more than once",
            {},
        ),
        "no csv": (
            lambda tmp, s: from_zip(io.BytesIO(zip_bytes(dict(recordings()))), s, "x.zip"),
            InvalidLabels,
            r"No labels CSV in x.zip: add labels.csv",
            {},
        ),
        "corrupt audio, last": (
            _zip_case(_corrupt_last(), labels_csv(LABELS | {"zz-broken.wav": "spoof"})),
            AudioDecodeError,
            r"zz-broken.wav: Could not decode",
            {},
        ),
        "not audio": (
            _zip_case(_with({"a.mp3": b"hello"}), labels_csv(LABELS | {"a.mp3": "spoof"})),
            UnsupportedAudioFormat,
            r"a.mp3: .*Accepted formats",
            {},
        ),
        "silence": (
            _zip_case(
                _with({"quiet.wav": silence(2.0)}), labels_csv(LABELS | {"quiet.wav": "spoof"})
            ),
            NoSpeechDetected,
            r"quiet.wav: no speech was detected",
            {},
        ),
        "too short": (
            _zip_case(
                _with({"short.wav": wav(np.full(4000, 0.1, dtype=np.float32))}),
                labels_csv(LABELS | {"short.wav": "spoof"}),
            ),
            AudioTooShort,
            r"short.wav: 0.25 s long; a dataset recording lasts at least 0.5 s",
            {},
        ),
        "duplicate recording": (
            _zip_case(
                _with({"copy.wav": recordings()["real1.wav"]}),
                labels_csv(LABELS | {"copy.wav": "spoof"}),
            ),
            DuplicateRecording,
            r"real1.wav and copy.wav are the same recording",
            {},
        ),
        "path outside the zip": (
            lambda tmp, s: from_zip(
                io.BytesIO(
                    zip_bytes({"../evil.wav": b"RIFF", "labels.csv": "../evil.wav,spoof\n"})
                ),
                s,
                "evil.zip",
            ),
            UnsafeArchive,
            r"evil.zip: refused: member names with an absolute path or '..'",
            {},
        ),
        "zip bomb": (
            _zip_case(_with({"bomb.wav": bytes(3_000_000)})),
            ArchiveTooLarge,
            r"VOXGUARD_MAX_ARCHIVE_MB",
            {"max_archive_mb": 2},
        ),
        "too many files": (
            _zip_case(recordings()),
            DatasetTooLarge,
            r"holds 4 recordings; at most 3 .*VOXGUARD_MAX_DATASET_FILES",
            {"max_dataset_files": 3},
        ),
        "too large": (
            _zip_case(recordings()),
            DatasetTooLarge,
            r"VOXGUARD_MAX_DATASET_MB",
            {"max_dataset_mb": 0.2},
        ),
        "labels not parallel": (
            _files_case(recordings(), ["bonafide", "spoof"]),
            InvalidLabels,
            r"4 files but 2 labels",
            {},
        ),
        "json labels miss a file": (
            _files_case(
                recordings(), [json.dumps({"real1.wav": "bonafide", "fake1.wav": "spoof"})]
            ),
            InvalidLabels,
            r"No label for real2.wav, fake2.wav",
            {},
        ),
        "two files, one name": (
            lambda tmp, s: from_files(Memory([("a.wav", b"1"), ("a.wav", b"2")]), ["spoof"] * 2),
            InvalidDataset,
            r"Several files are named a.wav",
            {},
        ),
    }


REFUSALS = [
    "one class only", "unknown label", "csv row without recording", "recording without label",
    "row without label", "row with '..' path", "two rows for one file", "no csv",
    "corrupt audio, last", "not audio", "silence", "too short", "duplicate recording",
    "path outside the zip", "zip bomb", "too many files", "too large", "labels not parallel",
    "json labels miss a file", "two files, one name",
]  # fmt: skip


def test_every_refusal_is_tested() -> None:
    assert sorted(REFUSALS) == sorted(_refusals())


@pytest.mark.parametrize("case", REFUSALS)
def test_refused_uploads_store_nothing(
    case: str, tmp_path: Path, store: Store, front_end: AudioFrontEnd
) -> None:
    build, error, message, overrides = _refusals()[case]
    settings = _settings(tmp_path, **overrides)
    # One dataset stored first (within the default limits): a refusal must not touch it.
    kept = _upload(store, _settings(tmp_path), front_end, _files_input(recordings(2), LABELS))
    before = blob_files(settings.data_dir)
    with pytest.raises(error) as caught:
        _upload(store, settings, front_end, build(tmp_path, settings))
    assert re.search(message, caught.value.message), caught.value.message
    assert caught.value.http_status in (413, 415, 422)
    assert stored(store) == (1, 4, 4)
    assert blob_files(settings.data_dir) == before  # no blob, nothing left in staging
    with unit_of_work(store.sessions) as session:
        assert DatasetService(session, settings, "t").get(kept.id).item_count == 4


def test_dedup_across_datasets_and_delete_keeps_shared_blobs(
    tmp_path: Path, store: Store, front_end: AudioFrontEnd
) -> None:
    settings = _settings(tmp_path)
    first_files = recordings(0)
    second_files = {"again.wav": first_files["real1.wav"], "new.wav": recordings(2)["real1.wav"]}
    second_files |= {"old-fake.wav": first_files["fake1.wav"]}
    first = _upload(store, settings, front_end, _files_input(first_files, LABELS))
    second = _upload(
        store,
        settings,
        front_end,
        from_files(Memory(second_files), ["bonafide", "bonafide", "spoof"]),
    )
    assert stored(store) == (2, 7, 5)  # 7 items, 5 distinct recordings
    assert len(blob_files(settings.data_dir)) == 5

    with unit_of_work(store.sessions) as session:
        DatasetService(session, settings, "admin").delete(first.id)
    assert stored(store) == (1, 3, 3)
    remaining = {p.name for p in blob_files(settings.data_dir)}
    with unit_of_work(store.sessions) as session:
        detail = DatasetService(session, settings, "reader").get(second.id)
        audit = AuditRepository(session).list(first.id)
    assert remaining == {i.sha256 for i in detail.items}  # shared blobs kept
    assert [(e.action, e.actor, e.detail["blobs_removed"]) for e in audit[:1]] == [
        ("delete", "admin", 2)
    ]

    with unit_of_work(store.sessions) as session:
        DatasetService(session, settings, "admin").delete(second.id)
    assert stored(store) == (0, 0, 0) and blob_files(settings.data_dir) == []
    with unit_of_work(store.sessions) as session, pytest.raises(DatasetNotFound):
        DatasetService(session, settings, "admin").delete(second.id)


def test_delete_rolled_back_keeps_files(
    tmp_path: Path, store: Store, front_end: AudioFrontEnd
) -> None:
    settings = _settings(tmp_path)
    out = _upload(store, settings, front_end, _files_input(recordings(), LABELS))
    with pytest.raises(RuntimeError), unit_of_work(store.sessions) as session:
        DatasetService(session, settings, "admin").delete(out.id)
        raise RuntimeError("the request failed after the delete")
    assert stored(store) == (1, 4, 4) and len(blob_files(settings.data_dir)) == 4


def test_purge_by_retention_and_orphans(
    tmp_path: Path, store: Store, front_end: AudioFrontEnd
) -> None:
    settings = _settings(tmp_path, dataset_retention_days=30)
    old = _upload(store, settings, front_end, _files_input(recordings(0), LABELS))
    fresh_files = recordings(2) | {"shared.wav": recordings(0)["fake1.wav"]}
    fresh = _upload(
        store,
        settings,
        front_end,
        _files_input(fresh_files, LABELS | {"shared.wav": "spoof"}),
    )
    with unit_of_work(store.sessions) as session:
        row = session.get(Dataset, old.id)
        assert row is not None
        row.created_at = utcnow() - timedelta(days=31)
    blobs = BlobStore(settings.datasets_dir)
    orphan, recent = blobs.path("ab" + "0" * 62), blobs.path("cd" + "1" * 62)
    for path in (orphan, recent):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"left by a failed commit")
    stale = time.time() - ORPHAN_GRACE_S - 60
    os.utime(orphan, (stale, stale))

    with unit_of_work(store.sessions) as session:
        result = DatasetService(session, settings, "cron").purge()
    assert result.datasets == [old.id] and result.retention_days == 30
    assert result.blobs_removed == 3  # the 4th is shared with the fresh dataset
    assert result.orphans_removed == 1 and not orphan.exists() and recent.exists()
    assert stored(store) == (1, 5, 5)
    with unit_of_work(store.sessions) as session:
        page = DatasetService(session, settings, "reader").list_datasets()
        audit = AuditRepository(session).list(old.id)
    assert [d.id for d in page.items] == [fresh.id]
    assert audit[0].action == "purge" and audit[0].detail["retention_days"] == 30
    shas = {p.name for p in blob_files(settings.data_dir)} - {recent.name}
    with unit_of_work(store.sessions) as session:
        assert shas == {
            i.sha256 for i in DatasetService(session, settings, "r").get(fresh.id).items
        }
        nothing = DatasetService(session, settings, "cron").purge()
    assert nothing.datasets == [] and nothing.blobs_removed == 0


def test_list_and_items_are_paged(tmp_path: Path, store: Store, front_end: AudioFrontEnd) -> None:
    settings = _settings(tmp_path)
    first = _upload(store, settings, front_end, _files_input(recordings(0), LABELS), "first")
    second = _upload(store, settings, front_end, _files_input(recordings(2), LABELS), "second")
    with unit_of_work(store.sessions) as session:
        service = DatasetService(session, settings, "reader")
        page = service.list_datasets(offset=0, limit=1)
        assert page.total == 2 and [d.id for d in page.items] == [second.id]
        assert [d.id for d in service.list_datasets(offset=1, limit=5).items] == [first.id]
        detail = service.get(first.id, offset=1, limit=2)
        assert detail.item_count == 4 and [i.path for i in detail.items] == [
            "fake2.wav",
            "real1.wav",
        ]
        with pytest.raises(DatasetNotFound, match="No dataset with id 'nope'"):
            service.get("nope")
