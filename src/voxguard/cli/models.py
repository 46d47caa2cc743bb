"""``voxguard models list|show|promote|rollback`` and ``voxguard retrain --data DIR``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import Progress
from rich.table import Table

from voxguard.cli.errors import handle_errors
from voxguard.cli.local import actor, console, settings, store_session
from voxguard.services.dataset_inputs import open_dataset_input
from voxguard.services.datasets import DatasetService
from voxguard.services.model_registry import BUNDLED, ModelRegistry, ModelVersionOut
from voxguard.services.retrain import retrain
from voxguard.store.setup import open_store

models = typer.Typer(help="The model registry: retrained spoof models.", no_args_is_help=True)
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]
Kind = Annotated[str, typer.Argument(help="Model kind.")]
Version = Annotated[str, typer.Argument(help='Version ("bundled" or a registered one).')]


def _pct(value: Any) -> str:
    return "-" if value is None else f"{100 * float(value):.1f}%"


def _regression(metrics: dict[str, Any]) -> str:
    fixed = metrics.get("regression_set")
    if not isinstance(fixed, dict):
        return str(metrics.get("reason", "-"))
    return (
        f"EER {_pct(fixed.get('eer'))} (parent {_pct(fixed.get('base_eer'))}, "
        f"{fixed.get('files')} files of "
        + (f"dataset {fixed['dataset']})" if fixed.get("dataset") else "the development set)")
    )


def _print(model: ModelVersionOut) -> None:
    table = Table(show_header=False, title=f"{model.kind} model {model.version}")
    held = model.metrics.get("held_out") or {}
    rows = {
        "status": model.status,
        "parent": model.parent or "-",
        "path": model.path or "(bundled with voxguard)",
        "created": f"{model.created_at or '-'} by {model.created_by}",
        "promoted": f"{model.promoted_at} by {model.promoted_by}" if model.promoted_at else "-",
        "held-out EER": f"{_pct(held.get('eer'))} (parent {_pct(held.get('base_eer'))}, "
        f"{held.get('files', '-')} files)"
        if held
        else _pct(model.metrics.get("eer")),
        "regression set": _regression(model.metrics),
        "data": json.dumps(model.data_summary)[:300],
    }
    for key, value in rows.items():
        table.add_row(key, str(value))
    console.print(table)


@models.command("list")
@handle_errors
def list_models(as_json: AsJson = False) -> None:
    """Every version, the bundled model first."""
    with store_session() as (current, session):
        found = ModelRegistry(session, current, actor()).list()
    if as_json:
        typer.echo(json.dumps([m.model_dump(mode="json") for m in found]))
        return
    table = Table("kind", "status", "parent", "held-out EER", "parent's")
    table.add_column("version", no_wrap=True)
    for m in found:
        held = m.metrics.get("held_out") or {}
        table.add_row(
            m.kind,
            m.status,
            m.parent or "-",
            _pct(held.get("eer")),
            _pct(held.get("base_eer")),
            m.version,
        )
    console.print(table)


@models.command("show")
@handle_errors
def show(kind: Kind, version: Version, as_json: AsJson = False) -> None:
    """One version: status, lineage, metrics, training data."""
    with store_session() as (current, session):
        found = ModelRegistry(session, current, actor()).get(kind, version)
    if as_json:
        typer.echo(found.model_dump_json())
        return
    _print(found)


@models.command("promote")
@handle_errors
def promote(
    kind: Kind,
    version: Version,
    force: Annotated[bool, typer.Option(help="Promote even when it measured worse.")] = False,
) -> None:
    """Serve this version (servers and workers switch within VOXGUARD_MODEL_CHECK_S)."""
    with store_session() as (current, session):
        found = ModelRegistry(session, current, actor()).promote(kind, version, force)
    console.print(f"[green]{found.kind} model {found.version} is active.[/]")


@models.command("rollback")
@handle_errors
def rollback(kind: Kind) -> None:
    """Back to the version active before the active one."""
    with store_session() as (current, session):
        found = ModelRegistry(session, current, actor()).rollback(kind)
    console.print(f"[green]{found.kind} model {found.version} is active again.[/]")


@handle_errors
def retrain_command(
    data: Annotated[
        Path,
        typer.Option(
            "--data", help="A folder or .zip of recordings with labels.csv (path,label[,system])."
        ),
    ],
    base: Annotated[str, typer.Option(help='"bundled" or a registered version.')] = BUNDLED,
    name: Annotated[str | None, typer.Option(help="Dataset name (default: the folder's).")] = None,
    regression: Annotated[
        str | None,
        typer.Option(
            help="A stored dataset to score candidate and parent on, left out of training "
            "(default VOXGUARD_REGRESSION_DATASET)."
        ),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Store DIR as a dataset, then refit the spoof detector's read-out on it here (not in a
    job) and register the result as a candidate; print its metrics."""
    current = settings()
    store = open_store(current)
    try:
        with store_session() as (_, session), open_dataset_input(data, current) as source:
            dataset = DatasetService(session, current, actor()).upload(source, name)
        console.print(f"Stored dataset {dataset.id}: {dataset.item_count} recordings.")
        with Progress(console=console, transient=True) as bar:
            task = bar.add_task("featurising", total=dataset.item_count)
            candidate = retrain(
                current,
                store.sessions,
                [dataset.id],
                base,
                actor(),
                lambda done, total: bar.update(task, completed=done, total=total),
                regression or current.regression_dataset,
            )
    finally:
        store.close()
    if as_json:
        typer.echo(candidate.model_dump_json())
        return
    _print(candidate)
    console.print(f"Promote it with: voxguard models promote spoof {candidate.version}")


def register(app: typer.Typer) -> None:
    app.add_typer(models, name="models")
    app.command("retrain")(retrain_command)
