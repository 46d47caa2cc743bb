"""Retraining the spoof detector from uploaded datasets: the job's submission and its work.

The work featurises the datasets' recordings with the base model's own front end and graph,
refits its read-out (``voxguard.training.readout``: scikit-learn and the ``onnx`` package,
the export extra), writes the result as a servable model under ``models/spoof/<version>/``
and registers it as a candidate with its metrics; promoting it is a separate, guarded step.
"""

from __future__ import annotations

import dataclasses
import os
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from voxguard.config import Settings
from voxguard.errors import DatasetNotFound, InvalidDataset, ModelUnavailable
from voxguard.services.job_queue import JobQueue
from voxguard.services.job_schemas import JobKind, JobOut, JobStatus
from voxguard.services.jobs import enqueue
from voxguard.services.model_registry import ModelRegistry, ModelVersionOut, version_dir
from voxguard.store.audit import AuditRepository
from voxguard.store.blobs import BlobStore
from voxguard.store.datasets import DatasetRepository
from voxguard.store.db import SessionFactory, unit_of_work
from voxguard.store.jobs import JobRepository
from voxguard.store.models import DatasetItem, Job, new_id, utcnow
from voxguard.store.setup import Store

NO_REGRESSION_SET = (
    "no regression set: VOXGUARD_REGRESSION_DATASET names no dataset and this package ships no "
    "replay sample, so the candidate is evaluated on a held-out split of the uploaded data only"
)
DEVELOPMENT_SET = (
    "the bundled model's development set: the replay sample's guarded demo-page clips, scored "
    "by the candidate and by its parent's read-out on the same windows; both trained on them, "
    "so this checks that the candidate has not forgotten them, not how it generalises"
)
Progress = Callable[[int, int], None]  # (recordings featurised, of how many)


def _items(session: Any, dataset_ids: Sequence[str]) -> list[DatasetItem]:
    repo = DatasetRepository(session)
    if not dataset_ids:
        raise InvalidDataset("Name at least one dataset to retrain on (POST /v1/datasets).")
    for dataset_id in dataset_ids:
        if repo.get(dataset_id) is None:
            raise DatasetNotFound(f"No dataset with id {dataset_id!r}.", dataset_id=dataset_id)
    return repo.all_items(list(dict.fromkeys(dataset_ids)))


def submit_retrain(
    store: Store,
    settings: Settings,
    queue: JobQueue,
    actor: str,
    dataset_ids: Sequence[str],
    base: str,
    regression: str | None = None,
) -> JobOut:
    """Check the datasets and the base model, record the job, queue it. ``regression``: the
    dataset to score candidate and parent on (default VOXGUARD_REGRESSION_DATASET)."""
    regression = regression or settings.regression_dataset
    with unit_of_work(store.sessions) as session:
        total = len(_items(session, dataset_ids))
        if regression:
            _items(session, [regression])
        ModelRegistry(session, settings, actor).model_dir("spoof", base)  # known, not pruned
        job_id = new_id()
        row = JobRepository(session).add(
            Job(
                id=job_id,
                kind=JobKind.RETRAIN,
                status=JobStatus.QUEUED,
                created_by=actor,
                files_total=total,
                params={"datasets": list(dataset_ids), "base": base, "regression": regression},
            )
        )
        AuditRepository(session).record(
            actor, "create", "job", job_id, kind=str(JobKind.RETRAIN), datasets=list(dataset_ids)
        )
        created = JobOut.of(row)
    enqueue(store, settings, queue, job_id)
    return created


def retrain(
    settings: Settings,
    sessions: SessionFactory,
    dataset_ids: Sequence[str],
    base: str,
    actor: str,
    progress: Progress | None = None,
    regression: str | None = None,
) -> ModelVersionOut:
    """Featurise, refit, evaluate, export and register a candidate; it is returned.
    ``regression``: a dataset to score the candidate and its parent on, left out of
    training (its recordings too, wherever else they appear)."""
    try:
        from voxguard.spoof.detector import SpoofDetector
        from voxguard.training.readout.export import write_candidate
        from voxguard.training.readout.features import Featurizer, Recording
        from voxguard.training.readout.fit import evaluate, fit_readout
        from voxguard.training.readout.graph import base_readout
        from voxguard.training.readout.replay import load_replay
    except ModuleNotFoundError as exc:
        raise ModelUnavailable(
            f"Retraining needs the export extra ({exc.name} is missing): "
            "pip install 'voxguard[export]'."
        ) from exc
    with unit_of_work(sessions) as session:
        items = _items(session, dataset_ids)
        held_back = _items(session, [regression]) if regression else []
        base_dir = ModelRegistry(session, settings, actor).model_dir("spoof", base)
    blobs = BlobStore(settings.datasets_dir)
    kept_apart = {item.sha256 for item in held_back}
    labels: dict[str, int] = {}
    systems: dict[str, str | None] = {}
    for item in items:
        if item.sha256 in kept_apart:
            continue
        label = int(item.label == "spoof")
        if labels.setdefault(item.sha256, label) != label:
            raise InvalidDataset(
                f"{item.path} (dataset {item.dataset_id}) is labelled both bonafide and spoof "
                "across the datasets given.",
                sha256=item.sha256,
            )
        systems.setdefault(item.sha256, item.system)
    recordings = [
        Recording(sha, label, partial(blobs.path, sha), systems[sha])
        for sha, label in labels.items()
    ]
    detector = SpoofDetector(model_dir=base_dir, settings=settings)
    featurizer = Featurizer(detector)

    def featurised(done: int) -> None:
        if progress is not None:
            progress(done, len(recordings))

    workers = settings.retrain_workers or os.cpu_count() or 1
    data = featurizer.featurize(recordings, featurised, workers)
    # The base model's own training windows (shipped as features) keep the refit from
    # forgetting what the base knew; they train, they are never held out.
    replayed = load_replay()
    parent = base_readout(detector.model_path)
    fit = fit_readout(data, parent, replay=replayed[0] if replayed else None)
    fit.metrics["train"]["replay"] = replayed[1] if replayed else "none shipped with this package"
    regression_metrics: dict[str, Any] = {"regression_set": None, "reason": NO_REGRESSION_SET}
    if held_back:
        apart = {
            item.sha256: Recording(
                item.sha256, int(item.label == "spoof"), partial(blobs.path, item.sha256)
            )
            for item in held_back
        }
        scored = evaluate(fit.readout, featurizer.featurize(list(apart.values()), workers=workers))
        regression_metrics = {
            "regression_set": {"dataset": regression, "base_version": base, **scored}
        }
    elif replayed:
        # No dataset named: the fixed regression set is the base's development set, which
        # ships as features; the parent's window logits come from its own read-out.
        development = dataclasses.replace(
            replayed[0],
            base_logits=parent.logit(replayed[0].features, replayed[0].branch).astype("float32"),
        )
        regression_metrics = {
            "regression_set": {
                "set": DEVELOPMENT_SET,
                "base_version": base,
                **evaluate(fit.readout, development),
            }
        }
    version = f"{utcnow():%Y%m%d%H%M%S}-{uuid.uuid4().hex[:6]}"
    used = Counter(r.label for r in data.files)
    summary: dict[str, Any] = {
        "datasets": list(dataset_ids),
        "recordings": len(recordings),
        "used": len(data.files),
        "bonafide": used[0],
        "spoof": used[1],
        "windows": int(data.base_logits.size),
        "systems": dict(Counter(r.system or "unnamed" for r in data.files if r.label)),
        "skipped": data.skipped,
        "left_out_for_regression_set": len({i.sha256 for i in items} & kept_apart),
    }
    metrics = {**fit.metrics, **regression_metrics}
    metrics["held_out"]["base_version"] = base
    out_dir = version_dir(settings, "spoof", version)
    write_candidate(detector, fit, data.stats_dims, version, summary, out_dir)
    with unit_of_work(sessions) as session:
        return ModelRegistry(session, settings, actor).register_candidate(
            "spoof", version, base, metrics, summary
        )
