from __future__ import annotations

import json
from typing import Any

import pytest

from tests.api.conftest import Api
from tests.datasets import (
    LABELS,
    SYSTEMS,
    blob_files,
    labelled_zip,
    recordings,
    stored,
    zip_bytes,
)


def _files(files: dict[str, bytes]) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("files", (name, data, "audio/wav")) for name, data in files.items()]


def _upload(api: Api, files: dict[str, bytes], data: dict[str, Any], role: str = "operator") -> Any:
    return api.client.post(
        "/v1/datasets", files=_files(files), data=data, headers=api.headers(role)
    )


def test_upload_list_show_delete(api: Api) -> None:
    files = recordings()
    response = _upload(
        api,
        files,
        {
            "labels": [LABELS[n] for n in files],
            "systems": [SYSTEMS.get(n, "") for n in files],
            "name": "calls-2026",
        },
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["name"] == "calls-2026" and created["source"] == "files"
    assert created["by_label"] == {"bonafide": 2, "spoof": 2}
    assert created["by_system"] == {"tts-a": 1, "tts-b": 1}
    assert created["created_by"].startswith("key:operator") and created["duration_s"] > 4

    reader = api.headers("reader")
    page = api.client.get("/v1/datasets", headers=reader).json()
    assert page["total"] == 1 and page["items"][0]["id"] == created["id"]
    assert page["items"][0]["size_bytes"] == sum(len(d) for d in files.values())
    shown = api.client.get(f"/v1/datasets/{created['id']}?limit=2&offset=1", headers=reader)
    body = shown.json()
    assert body["item_count"] == 4 and [i["path"] for i in body["items"]] == [
        "fake2.wav",
        "real1.wav",
    ]
    assert body["items"][0] | {"sha256": "-", "size_bytes": 0, "duration_s": 0, "speech_s": 0} == {
        "path": "fake2.wav",
        "label": "spoof",
        "system": "tts-b",
        "sha256": "-",
        "size_bytes": 0,
        "duration_s": 0,
        "speech_s": 0,
        "sample_rate": 16000,
        "channels": 1,
        "codec": "pcm_s16le",
    }

    assert (
        api.client.delete(f"/v1/datasets/{created['id']}", headers=api.headers()).status_code == 204
    )
    missing = api.client.get(f"/v1/datasets/{created['id']}", headers=reader)
    assert missing.status_code == 404 and missing.json()["code"] == "dataset_not_found"
    audit = api.client.get(f"/v1/audit?entity_id={created['id']}", headers=api.headers()).json()
    assert [e["action"] for e in audit] == ["delete", "create"]
    assert stored(api.runtime.store) == (0, 0, 0)
    assert blob_files(api.runtime.settings.data_dir) == []


def test_zip_with_csv_and_json_labels(sqlite_api: Api) -> None:
    api = sqlite_api
    zipped = labelled_zip(recordings(0), folder="set/")
    response = api.client.post(
        "/v1/datasets",
        files=[("files", ("asv.zip", zipped, "application/zip"))],
        headers=api.headers("operator"),
    )
    assert response.status_code == 201, response.text
    assert response.json()["name"] == "asv" and response.json()["source"] == "zip"
    assert response.json()["by_system"] == {"tts-a": 1, "tts-b": 1}

    # A second dataset sharing two recordings with the first: stored once.
    files = {"again.wav": recordings(0)["real1.wav"], "fake.wav": recordings(0)["fake2.wav"]}
    files["new.wav"] = recordings(2)["real1.wav"]
    mapping = {"again.wav": "genuine", "fake.wav": {"label": "spoof", "system": "x"}}
    second = _upload(api, files, {"labels": json.dumps(mapping | {"new.wav": "bonafide"})})
    assert second.status_code == 201, second.text
    assert second.json()["by_label"] == {"bonafide": 2, "spoof": 1}
    assert stored(api.runtime.store) == (2, 7, 5)

    api.client.delete(f"/v1/datasets/{response.json()['id']}", headers=api.headers())
    kept = api.client.get(f"/v1/datasets/{second.json()['id']}", headers=api.headers()).json()
    assert {p.name for p in blob_files(api.runtime.settings.data_dir)} == {
        i["sha256"] for i in kept["items"]
    }


@pytest.mark.parametrize(
    ("case", "status", "code", "message"),
    [
        ("one class", 422, "single_class_dataset", "a dataset needs both classes"),
        ("unknown label", 422, "invalid_labels", "unknown label 'fake'; accepted: bonafide"),
        ("corrupt", 422, "audio_decode_error", "fake2.wav: Could not decode"),
        ("duplicate", 422, "duplicate_recording", "real1.wav and fake1.wav are the same"),
        ("zip with labels", 422, "invalid_dataset", "a .zip comes alone"),
        ("zip without csv", 422, "invalid_labels", "No labels CSV in bare.zip"),
        ("no labels", 422, "invalid_labels", "4 files but 0 labels"),
    ],
)
def test_refusals_store_nothing(
    sqlite_api: Api, case: str, status: int, code: str, message: str
) -> None:
    api = sqlite_api
    files = recordings()
    labels: list[str] | str = [LABELS[n] for n in files]
    if case == "one class":
        labels = ["spoof"] * 4
    elif case == "unknown label":
        labels = ["bonafide", "bonafide", "fake", "spoof"]
    elif case == "corrupt":
        files["fake2.wav"] = b"RIFF\x00\x00\x00\x00WAVEfmt " + b"\x00" * 100
    elif case == "duplicate":
        files["fake1.wav"] = files["real1.wav"]
    elif case == "zip with labels":
        files, labels = {"data.zip": labelled_zip(files)}, ["spoof"]
    elif case == "zip without csv":
        files, labels = {"bare.zip": zip_bytes(dict(files))}, []
    elif case == "no labels":
        labels = []
    response = _upload(api, files, {"labels": labels})
    assert response.status_code == status, response.text
    assert response.json()["code"] == code and message in response.json()["error"]
    assert stored(api.runtime.store) == (0, 0, 0)
    assert blob_files(api.runtime.settings.data_dir) == []


def test_roles(sqlite_api: Api) -> None:
    api = sqlite_api
    files = recordings()
    data = {"labels": [LABELS[n] for n in files]}
    denied = _upload(api, files, data, role="reader")
    assert denied.status_code == 403 and denied.json()["code"] == "permission_denied"
    assert api.client.get("/v1/datasets").status_code == 401
    created = _upload(api, files, data, role="operator").json()
    assert api.client.get("/v1/datasets", headers=api.headers("reader")).status_code == 200
    path = f"/v1/datasets/{created['id']}"
    assert api.client.get(path, headers=api.headers("reader")).status_code == 200
    assert api.client.delete(path, headers=api.headers("operator")).status_code == 403
    assert api.client.delete(path, headers=api.headers("reader")).status_code == 403
    assert api.client.delete(path, headers=api.headers("admin")).status_code == 204
