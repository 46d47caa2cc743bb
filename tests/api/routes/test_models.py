"""/v1/models: the registry over HTTP, a retrain job run by a real Huey consumer beside the
app, promotion refused (409, with the reason) and forced, rollback, all audited."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.conftest import Api, make_settings, open_api
from tests.databases import database_url
from tests.jobs import consuming
from tests.models_data import held_out, labelled_shared_folder, register
from voxguard.services.dataset_inputs import open_dataset_input
from voxguard.services.datasets import DatasetService
from voxguard.services.engines import load_spoof_detector
from voxguard.services.job_queue import JobQueue
from voxguard.store.db import unit_of_work


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    with database_url("sqlite", tmp_path) as url:
        settings = make_settings(tmp_path, url, max_upload_mb=20.0)
        yield from open_api(settings, spoof=load_spoof_detector(settings))


def test_the_bundled_model_is_listed_active(api: Api) -> None:
    listed = api.client.get("/v1/models", headers=api.headers("reader"))
    assert listed.status_code == 200
    (bundled,) = listed.json()
    assert (bundled["version"], bundled["status"], bundled["path"]) == ("bundled", "active", None)
    shown = api.client.get("/v1/models/spoof/bundled", headers=api.headers("reader")).json()
    assert shown["metrics"]["sidecar_version"]
    assert api.client.get("/v1/models/voice/bundled", headers=api.headers()).status_code == 422
    assert api.client.get("/v1/models/spoof/v1", headers=api.headers()).status_code == 404
    rolled = api.client.post("/v1/models/spoof/rollback", headers=api.headers())
    assert rolled.status_code == 409 and "nothing to roll back" in rolled.json()["error"]


def test_retrain_over_http_then_promote_and_roll_back(api: Api, tmp_path: Path) -> None:
    runtime = api.runtime
    folder = labelled_shared_folder(tmp_path / "upload", per_class=8)
    with (
        unit_of_work(runtime.store.sessions) as session,
        open_dataset_input(folder, runtime.settings) as data,
    ):
        dataset = DatasetService(session, runtime.settings, "admin:test").upload(data)
    body = {"datasets": [dataset.id], "base": "bundled"}
    url = "/v1/models/spoof/retrain"
    assert api.client.post(url, json=body, headers=api.headers("operator")).status_code == 403
    missing = api.client.post(url, json={"datasets": ["nope"]}, headers=api.headers())
    assert missing.status_code == 404
    started = api.client.post(url, json=body, headers=api.headers())
    assert started.status_code == 202, started.text
    assert started.json()["kind"] == "retrain"
    queue: JobQueue = api.client.app.state.jobs  # type: ignore[attr-defined]
    with consuming(runtime, queue):
        job = api.finished_job(started.json()["id"])
    assert job["status"] == "succeeded", job["error"]
    version = job["summary"]["candidate"]
    results = api.client.get(f"/v1/jobs/{job['id']}/results", headers=api.headers())
    assert results.status_code == 422  # a retrain job's outcome is its candidate

    shown = api.client.get(f"/v1/models/spoof/{version}", headers=api.headers("reader")).json()
    assert shown["status"] == "candidate" and shown["parent"] == "bundled"
    assert shown["metrics"]["held_out"]["files"] == 4
    # No regression dataset named: the base's development set (the shipped replay features).
    development = shown["metrics"]["regression_set"]
    assert development["set"].startswith("the bundled model's development set")
    assert development["files"] == 678 and development["base_version"] == "bundled"
    assert 0 <= development["eer"] <= 1 and 0 <= development["base_eer"] <= 1
    plot = api.client.get(f"/v1/models/spoof/{version}/det.png", headers=api.headers("reader"))
    assert plot.status_code == 200 and plot.headers["content-type"] == "image/png"

    # A constructed candidate that measured worse: refused with the reason, then forced.
    register(runtime.store, runtime.settings, "worse", held_out(eer=0.3, base_eer=0.1))
    promote = "/v1/models/spoof/worse/promote"
    assert api.client.post(promote, headers=api.headers("operator")).status_code == 403
    refused = api.client.post(promote, headers=api.headers())
    assert refused.status_code == 409
    assert "worse than the active model's" in refused.json()["error"]
    forced = api.client.post(promote, params={"force": "true"}, headers=api.headers())
    assert forced.status_code == 200 and forced.json()["status"] == "active"
    listed = {
        m["version"]: m["status"]
        for m in api.client.get("/v1/models", headers=api.headers()).json()
    }
    assert listed == {"bundled": "retired", version: "candidate", "worse": "active"}

    back = api.client.post("/v1/models/spoof/rollback", headers=api.headers())
    assert back.status_code == 200 and back.json()["version"] == "bundled"
    audit = api.client.get("/v1/audit", params={"entity_id": "spoof/worse"}, headers=api.headers())
    actions = [e["action"] for e in audit.json()]
    assert actions == ["rollback", "promote", "create"]
