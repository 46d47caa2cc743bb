"""Model-registry test data: a small labelled folder from the shared speech data for
retraining (genuine LibriSpeech readers and demo-page spoofs of systems with no clip
reserved by the holdout guard: its 13 reserved clips are all FastDiff and SpeechResearch
ones), and constructed candidates with the metrics a test needs."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path
from typing import Any

from tests.conftest import shared_data
from voxguard.config import Settings
from voxguard.models import bundled_model_path
from voxguard.services.model_registry import BUNDLED, ModelRegistry, version_dir
from voxguard.store.db import unit_of_work
from voxguard.store.setup import Store

SPOOF_SYSTEMS = ("melgan", "univnet", "vocos", "seedtts", "maskgct", "iaffvc")


def labelled_shared_folder(root: Path, per_class: int = 20, skip: int = 0) -> Path:
    """``root`` with ``per_class`` (at most 20) genuine and spoof recordings and their
    labels.csv; folders of different ``skip`` (0-3) share no recording."""
    demos = shared_data("demos")
    first = skip * 20
    genuine = sorted(shared_data("librispeech").glob("*.flac"))[first : first + per_class]
    with (demos / "manifest.csv").open() as handle:
        rows = [
            r
            for r in csv.DictReader(handle)
            if r["label"] == "spoof" and r["path"].split("/")[1] in SPOOF_SYSTEMS
        ]
    step = max(4, len(rows) // 20)
    spoof = [demos / r["path"] for r in rows[skip::step][:per_class]]
    rows_out = ["path,label,system"]
    root.mkdir(parents=True, exist_ok=True)
    for path in genuine:
        shutil.copy(path, root / path.name)
        rows_out.append(f"{path.name},bonafide,")
    for path in spoof:
        shutil.copy(path, root / path.name)
        rows_out.append(f"{path.name},spoof,{path.parent.name}")
    (root / "labels.csv").write_text("\n".join(rows_out) + "\n")
    return root


def held_out(eer: float, base_eer: float) -> dict[str, Any]:
    return {"held_out": {"eer": eer, "base_eer": base_eer, "files": 10}, "regression_set": None}


def register(
    store: Store, settings: Settings, version: str, metrics: dict[str, Any], parent: str = BUNDLED
) -> None:
    """A candidate whose files are the bundled model's under another version name."""
    folder = version_dir(settings, "spoof", version)
    shutil.copytree(bundled_model_path("spoof"), folder)
    sidecar = json.loads((folder / "spoof_detector.json").read_text())
    sidecar["version"] = f"retrained-{version}"
    (folder / "spoof_detector.json").write_text(json.dumps(sidecar))
    with unit_of_work(store.sessions) as session:
        ModelRegistry(session, settings, "admin:test").register_candidate(
            "spoof", version, parent, metrics, {"recordings": 40}
        )
