"""``voxguard datasets list|show|upload|delete|purge``: labelled recordings for retraining."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from voxguard.cli.errors import handle_errors
from voxguard.cli.local import actor, console, store_session
from voxguard.services.dataset_inputs import open_dataset_input
from voxguard.services.datasets import DatasetService
from voxguard.services.schemas import DatasetOut

datasets = typer.Typer(
    help="Labelled datasets (bonafide / spoof recordings) kept for retraining.",
    no_args_is_help=True,
)
AsJson = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
DatasetId = Annotated[str, typer.Argument(help="Dataset id.")]


def _summary(d: DatasetOut) -> str:
    labels = ", ".join(f"{n} {label}" for label, n in d.by_label.items())
    return (
        f"{d.name} (id {d.id}): {d.item_count} recordings ({labels}), "
        f"{d.duration_s / 60:.1f} min, {d.size_bytes / 1e6:.1f} MB"
    )


@datasets.command("upload")
@handle_errors
def upload(
    source: Annotated[
        Path,
        typer.Argument(
            help="A folder or a .zip of recordings with labels.csv (path,label[,system])."
        ),
    ],
    name: Annotated[str | None, typer.Option(help="Dataset name (default: the folder's).")] = None,
    as_json: AsJson = False,
) -> None:
    """Store a labelled dataset: every recording is checked, and nothing is stored if one
    fails."""
    with store_session() as (current, session), open_dataset_input(source, current) as data:
        result = DatasetService(session, current, actor()).upload(data, name)
    if as_json:
        typer.echo(result.model_dump_json())
        return
    console.print(f"[green]Stored[/] {_summary(result)}")


@datasets.command("list")
@handle_errors
def list_datasets(
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    as_json: AsJson = False,
) -> None:
    """Datasets, newest first."""
    with store_session() as (current, session):
        page = DatasetService(session, current, actor()).list_datasets(offset, limit)
    if as_json:
        typer.echo(page.model_dump_json())
        return
    table = Table(
        "id", "name", "bonafide", "spoof", "systems", "minutes", "MB", "created", "by",
        title=f"{page.total} datasets",
    )  # fmt: skip
    for d in page.items:
        table.add_row(
            d.id,
            d.name,
            str(d.by_label["bonafide"]),
            str(d.by_label["spoof"]),
            str(len(d.by_system)),
            f"{d.duration_s / 60:.1f}",
            f"{d.size_bytes / 1e6:.1f}",
            d.created_at.strftime("%Y-%m-%d %H:%M"),
            d.created_by,
        )
    console.print(table)


@datasets.command("show")
@handle_errors
def show(
    dataset_id: DatasetId,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Recordings shown.")] = 100,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    as_json: AsJson = False,
) -> None:
    """One dataset: counts per label and per system, and its recordings (by path)."""
    with store_session() as (current, session):
        found = DatasetService(session, current, actor()).get(dataset_id, offset, limit)
    if as_json:
        typer.echo(found.model_dump_json())
        return
    console.print(_summary(found))
    console.print(
        f"created {found.created_at:%Y-%m-%d %H:%M} by {found.created_by}, "
        f"expires {found.expires_at:%Y-%m-%d}; systems: "
        + (", ".join(f"{s} {n}" for s, n in found.by_system.items()) or "none given")
    )
    table = Table("path", "label", "system", "seconds", "speech s", "codec", "sha256")
    for item in found.items:
        table.add_row(
            item.path,
            item.label,
            item.system or "",
            f"{item.duration_s:.1f}",
            f"{item.speech_s:.1f}",
            item.codec,
            item.sha256[:12],
        )
    console.print(table)


@datasets.command("delete")
@handle_errors
def delete(
    dataset_id: DatasetId,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a dataset and the recordings no other dataset holds."""
    with store_session() as (current, session):
        service = DatasetService(session, current, actor())
        found = service.get(dataset_id, limit=1)
        if not yes and not typer.confirm(f"Delete {_summary(found)}?"):
            raise typer.Exit(1)
        service.delete(dataset_id)
    console.print(f"Deleted {found.name} ({found.id}).")


@datasets.command("purge")
@handle_errors
def purge(as_json: AsJson = False) -> None:
    """Remove the datasets older than VOXGUARD_DATASET_RETENTION_DAYS (default 365) and the
    recordings no remaining dataset holds. Run it daily (cron, a systemd timer)."""
    with store_session() as (current, session):
        result = DatasetService(session, current, actor()).purge()
    if as_json:
        typer.echo(result.model_dump_json())
        return
    console.print(
        f"Removed {len(result.datasets)} dataset(s) created before "
        f"{result.cutoff:%Y-%m-%d %H:%M} UTC ({result.retention_days} days), "
        f"{result.blobs_removed} recording file(s) and {result.orphans_removed} orphaned file(s)."
    )


def register(app: typer.Typer) -> None:
    app.add_typer(datasets, name="datasets")
