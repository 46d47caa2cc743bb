"""Labelled datasets for retraining: upload (operator), list and show (reader), delete (admin)."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Response, UploadFile, status

from voxguard.api.deps import AdminDep, OperatorDep, ReaderDep, RuntimeDep, SessionDep, read_uploads
from voxguard.config import Settings
from voxguard.errors import InvalidDataset
from voxguard.services.audio_input import AudioInput
from voxguard.services.dataset_inputs import ZIP_MAGIC, DatasetInput, from_files, from_zip
from voxguard.services.datasets import DatasetService
from voxguard.services.schemas import DatasetDetail, DatasetOut, DatasetPage
from voxguard.store.filters import MAX_OFFSET

router = APIRouter(prefix="/v1/datasets", tags=["datasets"])


class UploadSource:
    """The request's files, read one at a time (each within VOXGUARD_MAX_UPLOAD_MB)."""

    def __init__(self, files: list[UploadFile], settings: Settings) -> None:
        self._settings = settings
        self._names = [f.filename or f"file{i + 1}" for i, f in enumerate(files)]
        self._by_name = dict(zip(self._names, files, strict=True))

    @property
    def names(self) -> list[str]:
        return self._names

    def read(self, name: str) -> AudioInput:
        upload = self._by_name[name]
        upload.file.seek(0)
        (item,) = read_uploads([upload], self._settings)
        return AudioInput(filename=name, data=item.data)

    def close(self) -> None:
        pass


def _is_zip(upload: UploadFile) -> bool:
    head = upload.file.read(len(ZIP_MAGIC))
    upload.file.seek(0)
    return head == ZIP_MAGIC or (upload.filename or "").lower().endswith(".zip")


def _dataset_input(
    files: list[UploadFile], labels: list[str], systems: list[str], settings: Settings
) -> DatasetInput:
    zips = [f for f in files if _is_zip(f)]
    if zips and (len(files) > 1 or labels or systems):
        raise InvalidDataset(
            f"{zips[0].filename}: a .zip comes alone, without 'labels' or 'systems': its "
            "labels.csv labels its recordings. Or send the recordings themselves with labels.",
            filename=zips[0].filename,
        )
    if zips:
        name = PurePosixPath(zips[0].filename or "upload.zip").name
        return from_zip(zips[0].file, settings, name)
    return from_files(UploadSource(files, settings), labels, systems)


@router.post("", status_code=status.HTTP_201_CREATED)
def upload_dataset(
    files: Annotated[
        list[UploadFile],
        File(description="Recordings, each with a label; or one .zip of recordings and a CSV."),
    ],
    runtime: RuntimeDep,
    session: SessionDep,
    principal: OperatorDep,
    labels: Annotated[
        list[str] | None,
        Form(
            description="One per file, in order (bonafide/genuine or spoof/synthetic); or one "
            'JSON object mapping file names to labels (or to {"label", "system"}).'
        ),
    ] = None,
    systems: Annotated[
        list[str] | None,
        Form(description="Optional: one per file, what made it (empty for none)."),
    ] = None,
    name: Annotated[str | None, Form(max_length=200)] = None,
) -> DatasetOut:
    """Store labelled recordings: all of them, or none when any check fails."""
    with _dataset_input(files, labels or [], systems or [], runtime.settings) as data:
        service = DatasetService(session, runtime.settings, principal.actor, runtime.front_end)
        return service.upload(data, name)


@router.get("")
def list_datasets(
    runtime: RuntimeDep,
    session: SessionDep,
    principal: ReaderDep,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> DatasetPage:
    return DatasetService(session, runtime.settings, principal.actor).list_datasets(offset, limit)


@router.get("/{dataset_id}")
def get_dataset(
    dataset_id: str,
    runtime: RuntimeDep,
    session: SessionDep,
    principal: ReaderDep,
    offset: Annotated[
        int, Query(ge=0, le=MAX_OFFSET, description="of the recordings, by path")
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> DatasetDetail:
    return DatasetService(session, runtime.settings, principal.actor).get(dataset_id, offset, limit)


@router.delete("/{dataset_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_dataset(
    dataset_id: str, runtime: RuntimeDep, session: SessionDep, principal: AdminDep
) -> Response:
    """Delete a dataset and the recordings no other dataset holds (audit-logged)."""
    DatasetService(session, runtime.settings, principal.actor).delete(dataset_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
