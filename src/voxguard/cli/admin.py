"""Local administration: ``alerts list|ack|resolve`` and ``keys create|list|revoke``."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from voxguard.cli.errors import handle_errors
from voxguard.cli.local import actor, console, store_session
from voxguard.services.alerts import AlertService
from voxguard.services.auth import AuthService
from voxguard.services.schemas import AlertOut, AlertStatus, AlertUpdate, Role
from voxguard.store.filters import AlertFilter

alerts = typer.Typer(help="Review and triage alerts.", no_args_is_help=True)
keys = typer.Typer(help="Manage API keys.", no_args_is_help=True)
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@alerts.command("list")
@handle_errors
def list_alerts(
    status: Annotated[AlertStatus | None, typer.Option(help="Only this status.")] = None,
    level: Annotated[str | None, typer.Option(help="LOW, MEDIUM or HIGH.")] = None,
    speaker: Annotated[str | None, typer.Option(help="Only this speaker id.")] = None,
    recent: Annotated[bool, typer.Option(help="Only the last 24 hours.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    as_json: AsJson = False,
) -> None:
    """Alerts, newest first."""
    spec = AlertFilter(
        status=status,
        level=level.upper() if level else None,
        speaker_id=speaker,
        recent=recent,
        limit=limit,
    )
    with store_session() as (_, session):
        found = AlertService(session, actor()).list_alerts(spec)
    if as_json:
        typer.echo(json.dumps([a.model_dump(mode="json") for a in found]))
        return
    table = Table("id", "created", "status", "level", "reason", title=f"{len(found)} alerts")
    for a in found:
        table.add_row(a.id, a.created_at.strftime("%Y-%m-%d %H:%M:%S"), a.status, a.level, a.reason)
    console.print(table)


def _change(alert_id: str, status: AlertStatus, note: str | None) -> AlertOut:
    with store_session() as (_, session):
        return AlertService(session, actor()).update(
            alert_id, AlertUpdate(status=status, note=note)
        )


Note = Annotated[str | None, typer.Option(help="A note kept with the alert.")]
AlertId = Annotated[str, typer.Argument(help="Alert id.")]


@alerts.command("ack")
@handle_errors
def ack(alert_id: AlertId, note: Note = None) -> None:
    """Acknowledge an alert (someone is looking at it)."""
    changed = _change(alert_id, AlertStatus.ACKNOWLEDGED, note)
    console.print(f"Alert {changed.id} is {changed.status}.")


@alerts.command("resolve")
@handle_errors
def resolve(
    alert_id: AlertId,
    note: Note = None,
    dismiss: Annotated[bool, typer.Option(help="Close as a false alarm (DISMISSED).")] = False,
) -> None:
    """Close an alert as RESOLVED (or DISMISSED with --dismiss)."""
    status = AlertStatus.DISMISSED if dismiss else AlertStatus.RESOLVED
    changed = _change(alert_id, status, note)
    console.print(f"Alert {changed.id} is {changed.status}.")


@keys.command("create")
@handle_errors
def create_key(
    name: Annotated[str, typer.Argument(help="Who or what uses the key.")],
    role: Annotated[Role, typer.Option(help="admin, operator or reader.")] = Role.READER,
) -> None:
    """Create an API key; the secret is printed once."""
    with store_session() as (settings, session):
        created = AuthService(session, settings, actor()).create_key(name, role)
    console.print(
        f"Created {created.role} key {created.name!r} (id {created.id}). Secret, shown once:"
    )
    typer.echo(created.key)


@keys.command("list")
@handle_errors
def list_keys(as_json: AsJson = False) -> None:
    """API keys (never their secrets)."""
    with store_session() as (settings, session):
        found = AuthService(session, settings, actor()).list_keys()
    if as_json:
        typer.echo(json.dumps([k.model_dump(mode="json") for k in found]))
        return
    table = Table("id", "name", "prefix", "role", "created", "last used", "revoked")
    for k in found:
        table.add_row(
            k.id,
            k.name,
            k.prefix,
            k.role,
            k.created_at.strftime("%Y-%m-%d %H:%M"),
            k.last_used_at.strftime("%Y-%m-%d %H:%M") if k.last_used_at else "-",
            k.revoked_at.strftime("%Y-%m-%d %H:%M") if k.revoked_at else "-",
        )
    console.print(table)


@keys.command("revoke")
@handle_errors
def revoke_key(key: Annotated[str, typer.Argument(help="Key id, prefix or name.")]) -> None:
    """Revoke a key: it and every token issued for it stop working."""
    with store_session() as (settings, session):
        revoked = AuthService(session, settings, actor()).revoke(key)
    console.print(f"Revoked key {revoked.name!r} ({revoked.id}).")


def register(app: typer.Typer) -> None:
    app.add_typer(alerts, name="alerts")
    app.add_typer(keys, name="keys")
