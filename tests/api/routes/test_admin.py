"""/v1/admin/prune: admin only, a dry run by the same options, the summary, a pruned job's
results answering 410 and a pruned model refusing promotion, errors in the one shape."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.conftest import Api, make_settings, open_api
from tests.databases import database_url
from tests.prune_data import add_job, add_model, files_under
from voxguard.services.job_files import job_dir

URL = "/v1/admin/prune"


@pytest.fixture
def keeping_api(tmp_path: Path) -> Iterator[Api]:
    with database_url("sqlite", tmp_path) as url:
        yield from open_api(make_settings(tmp_path, url, keep_enrollment_audio=True))


def test_only_an_admin_may_prune(sqlite_api: Api) -> None:
    api = sqlite_api
    assert api.client.post(URL).status_code == 401
    for role in ("reader", "operator"):
        refused = api.client.post(URL, json={"dry_run": True}, headers=api.headers(role))
        assert refused.status_code == 403
        assert refused.json()["code"] == "permission_denied"


def test_a_dry_run_then_the_prune(sqlite_api: Api) -> None:
    api, runtime = sqlite_api, sqlite_api.runtime
    settings = runtime.settings
    job = add_job(runtime.store, settings)
    fresh = add_job(runtime.store, settings, ended_days_ago=2)
    model = add_model(runtime.store, settings, "old", "candidate")
    before = files_under(settings.data_dir)

    dry = api.client.post(URL, json={"dry_run": True}, headers=api.headers())
    assert dry.status_code == 200, dry.text
    body = dry.json()
    assert body["dry_run"] is True and body["size_bytes"] > 0
    assert [j["id"] for j in body["jobs"]["jobs"]] == [job]
    assert [m["version"] for m in body["models"]["removed"]] == ["old"]
    assert files_under(settings.data_dir) == before

    done = api.client.post(URL, headers=api.headers())  # no body: the defaults
    assert done.status_code == 200, done.text
    assert done.json()["dry_run"] is False
    assert done.json()["size_bytes"] == body["size_bytes"]
    assert not job_dir(settings, job).exists() and not model.exists()
    assert job_dir(settings, fresh).is_dir()

    shown = api.client.get(f"/v1/jobs/{job}", headers=api.headers("reader")).json()
    assert shown["status"] == "succeeded" and shown["result_path"] is None
    results = api.client.get(f"/v1/jobs/{job}/results", headers=api.headers("reader"))
    assert results.status_code == 410 and results.json()["code"] == "job_results_pruned"
    models = api.client.get("/v1/models", headers=api.headers("reader")).json()
    assert {m["version"]: m["status"] for m in models}["old"] == "pruned"
    promote = api.client.post("/v1/models/spoof/old/promote?force=true", headers=api.headers())
    assert promote.status_code == 409 and promote.json()["code"] == "model_version_pruned"
    audit = api.client.get("/v1/audit", headers=api.headers()).json()
    assert {(e["action"], e["entity"]) for e in audit} >= {
        ("prune", "storage"),
        ("prune", "job"),
        ("prune", "model"),
    }

    again = api.client.post(URL, json={"delete_job_records": True}, headers=api.headers())
    assert again.json()["jobs"]["records_deleted"] == 1  # the pruned one's record
    assert api.client.get(f"/v1/jobs/{job}", headers=api.headers()).status_code == 404


def test_bad_options_answer_in_the_one_error_shape(sqlite_api: Api) -> None:
    api = sqlite_api
    bad = api.client.post(URL, json={"older_than_days": -1}, headers=api.headers())
    assert bad.status_code == 422
    assert bad.json()["code"] == "validation_error"
    assert bad.json()["detail"]["errors"][0]["loc"] == ["body", "older_than_days"]


def test_purging_audio_still_being_kept_is_refused(keeping_api: Api) -> None:
    api = keeping_api
    refused = api.client.post(
        URL, json={"purge_kept_audio": True, "dry_run": True}, headers=api.headers()
    )
    assert refused.status_code == 409
    assert refused.json()["code"] == "prune_refused"
    assert "VOXGUARD_KEEP_ENROLLMENT_AUDIO is on" in refused.json()["error"]
    # Without the flag, keeping is no reason to refuse: orphans are swept all the same.
    assert api.client.post(URL, json={"dry_run": True}, headers=api.headers()).status_code == 200
