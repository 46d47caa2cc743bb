"""Retraining end to end with real components: a dataset of shared recordings (genuine
LibriSpeech, demo-page spoofs) uploaded, a retrain job run by a real Huey consumer, the
candidate exported, registered with its metrics, loadable by the detector, and served
without a restart once promoted."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.api.conftest import make_settings
from tests.doubles import SpectralTestEngine
from tests.jobs import consuming, wait_for
from tests.models_data import labelled_shared_folder
from voxguard.audio import load_audio
from voxguard.errors import DatasetNotFound, ModelVersionNotFound
from voxguard.services.active_model import ActiveSpoof
from voxguard.services.dataset_inputs import open_dataset_input
from voxguard.services.datasets import DatasetService
from voxguard.services.engines import Loaded
from voxguard.services.job_queue import JobQueue
from voxguard.services.job_schemas import JobKind
from voxguard.services.model_registry import ModelRegistry
from voxguard.services.retrain import submit_retrain
from voxguard.services.runtime import build_runtime
from voxguard.spoof.detector import SpoofDetector
from voxguard.store.db import unit_of_work
from voxguard.training.readout.features import Featurizer
from voxguard.training.readout.graph import base_readout


def test_a_retrain_job_registers_a_candidate_that_can_be_served(tmp_path: Path) -> None:
    folder = labelled_shared_folder(tmp_path / "upload", per_class=20)
    settings = make_settings(
        tmp_path, f"sqlite:///{tmp_path / 'test.db'}", max_upload_mb=20.0, model_check_s=0.0
    )
    runtime = build_runtime(settings, speaker=Loaded(SpectralTestEngine()))
    queue = JobQueue(runtime.settings)
    try:
        with (
            unit_of_work(runtime.store.sessions) as session,
            open_dataset_input(folder, runtime.settings) as data,
        ):
            dataset = DatasetService(session, runtime.settings, "admin:test").upload(data)
        regression_folder = labelled_shared_folder(tmp_path / "regression", per_class=6, skip=2)
        with (
            unit_of_work(runtime.store.sessions) as session,
            open_dataset_input(regression_folder, runtime.settings) as data,
        ):
            regression = DatasetService(session, runtime.settings, "admin:test").upload(data)
        with pytest.raises(DatasetNotFound):
            submit_retrain(
                runtime.store, runtime.settings, queue, "admin:test", ["nope"], "bundled"
            )
        with pytest.raises(ModelVersionNotFound):
            submit_retrain(runtime.store, runtime.settings, queue, "admin:test", [dataset.id], "v9")
        job = submit_retrain(
            runtime.store,
            runtime.settings,
            queue,
            "admin:test",
            [dataset.id],
            "bundled",
            regression=regression.id,
        )
        assert (job.kind, job.progress.total) == (JobKind.RETRAIN, 40)
        with consuming(runtime, queue):
            done = wait_for(runtime, job.id, "succeeded", "failed", timeout_s=180)
        assert done.status == "succeeded", done.error
        assert done.summary is not None and done.progress.done == 40
        version = done.summary["candidate"]

        with unit_of_work(runtime.store.sessions) as session:
            candidate = ModelRegistry(session, runtime.settings).get("spoof", version)
        held = candidate.metrics["held_out"]
        print("held-out", json.dumps({k: v for k, v in held.items() if k != "keys"}))
        print("cv", json.dumps(candidate.metrics["cv"]))
        assert (candidate.status, candidate.parent) == ("candidate", "bundled")
        assert held["files"] == 10 and held["bonafide"] == held["spoof"] == 5
        assert 0.0 <= held["eer"] <= 1.0 and 0.0 <= held["base_eer"] <= 1.0
        fixed = candidate.metrics["regression_set"]
        print("regression set", json.dumps(fixed))
        assert (fixed["dataset"], fixed["files"], fixed["spoof"]) == (regression.id, 12, 6)
        assert 0.0 <= fixed["eer"] <= 1.0 and 0.0 <= fixed["base_eer"] <= 1.0
        assert candidate.data_summary["left_out_for_regression_set"] == 0
        assert candidate.data_summary["bonafide"] == candidate.data_summary["spoof"] == 20
        assert candidate.metrics["cv"]["design"] in ("refit", "adapt")

        folder_out = runtime.settings.data_dir / str(candidate.path)
        assert (folder_out / "det.png").read_bytes()[:4] == b"\x89PNG"
        served = SpoofDetector(model_dir=folder_out, settings=runtime.settings)
        assert served.sidecar.version == version
        assert served.sidecar.raw["parent"] == SpoofDetector().sidecar.version
        # A classical-TTS head of the parent carries over, file and block (and loads).
        assert (served.classical_head is None) == (SpoofDetector().classical_head is None)

        # The exported graph computes the fitted read-out: the same window logits.
        recording = next(folder.glob("*.flac"))
        clip = load_audio(recording)
        features, _, branch = Featurizer(SpoofDetector(settings=runtime.settings)).windows(
            recording
        )
        _, _, _, windows = served.speech_windows(clip)
        exported = served.window_logits([w for _, w in windows])
        refitted = base_readout(folder_out / "spoof_detector.onnx").logit(features, branch)
        np.testing.assert_allclose(exported, refitted, rtol=1e-3, atol=1e-3)

        # Promoted (forced: on 10 held-out files it may measure worse), it is served at once.
        with unit_of_work(runtime.store.sessions) as session:
            ModelRegistry(session, runtime.settings, "admin:test").promote(
                "spoof", version, force=True
            )
        engine = runtime.spoof.engine
        assert isinstance(engine, ActiveSpoof) and engine.model_version == version
    finally:
        queue.close()
        runtime.close()
