"""Labelled recordings for the dataset tests (service, repository, API, CLI), and a check
that a refused upload left nothing behind."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from sqlalchemy import func, select

from tests.api.audio import speaker_halves
from voxguard.store.models import Dataset, DatasetBlob, DatasetItem
from voxguard.store.setup import Store


def recordings(first: int = 0) -> dict[str, bytes]:
    """Four distinct speech recordings: two to label bonafide, two spoof (labels are what
    the uploader says; nothing checks them against the audio)."""
    a, b = speaker_halves(first)
    c, d = speaker_halves(first + 1)
    return {"real1.wav": a, "real2.wav": b, "fake1.wav": c, "fake2.wav": d}


LABELS = {"real1.wav": "bonafide", "real2.wav": "genuine", "fake1.wav": "spoof"}
LABELS["fake2.wav"] = "Synthetic"
SYSTEMS = {"fake1.wav": "tts-a", "fake2.wav": "tts-b"}


def labels_csv(labels: dict[str, str], systems: dict[str, str] | None = None) -> str:
    systems = systems if systems is not None else SYSTEMS
    rows = ["path,label,system"] + [f"{p},{lab},{systems.get(p, '')}" for p, lab in labels.items()]
    return "\n".join(rows) + "\n"


def zip_bytes(members: dict[str, bytes | str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buffer.getvalue()


def labelled_zip(files: dict[str, bytes], csv: str | None = None, folder: str = "") -> bytes:
    members: dict[str, bytes | str] = {f"{folder}{n}": d for n, d in files.items()}
    members[f"{folder}labels.csv"] = csv if csv is not None else labels_csv(LABELS)
    return zip_bytes(members)


def labelled_folder(root: Path, files: dict[str, bytes], csv: str | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    (root / "labels.csv").write_text(csv if csv is not None else labels_csv(LABELS))
    return root


def stored(store: Store) -> tuple[int, int, int]:
    """Rows in datasets, dataset_items, dataset_blobs."""
    with store.sessions() as session:
        return tuple(  # type: ignore[return-value]
            session.scalar(select(func.count()).select_from(model)) or 0
            for model in (Dataset, DatasetItem, DatasetBlob)
        )


def blob_files(data_dir: Path) -> list[Path]:
    """Every file under the datasets folder: blobs and anything left in staging."""
    root = data_dir / "datasets"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []
