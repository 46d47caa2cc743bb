"""``voxguard analyze``: who spoke when in a recording, who each voice is, what is synthetic."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from voxguard.cli.errors import handle_errors
from voxguard.cli.local import actor, local_runtime, read_input
from voxguard.diarization import Diarization, Turn, to_rttm
from voxguard.services.analysis import AnalysisService
from voxguard.services.schemas import AnalyzeOut
from voxguard.store.db import unit_of_work

console = Console()
_LEVEL_STYLE = {"LOW": "green", "MEDIUM": "yellow", "HIGH": "bold red"}


def register(app: typer.Typer) -> None:
    app.command()(analyze)


@handle_errors
def analyze(
    file: Annotated[Path, typer.Argument(help="A recording of one or more speakers.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    rttm: Annotated[
        Path | None, typer.Option("--rttm", help="Also write the speaker turns as RTTM here.")
    ] = None,
    speakers: Annotated[
        int | None,
        typer.Option("--speakers", min=1, max=20, help="The number of speakers, when known."),
    ] = None,
) -> None:
    """Who spoke when, who each voice is, and which turns are synthetic (stored as an event;
    a risky speaker raises an alert)."""
    with local_runtime() as runtime:
        item = read_input(file, runtime.settings)
        with unit_of_work(runtime.store.sessions) as session:
            result = AnalysisService(runtime, session, actor()).analyze(item, speakers)
    if rttm is not None:
        turns = [Turn(t.start_s, t.end_s, t.speaker, t.overlap) for t in result.turns]
        rttm.write_text(to_rttm(Diarization(turns, result.duration_s), file.stem))
    if as_json:
        typer.echo(result.model_dump_json())
        return
    _print(result)
    if rttm is not None:
        console.print(f"RTTM written to {rttm}")


def _print(result: AnalyzeOut) -> None:
    style = _LEVEL_STYLE.get(result.risk.level, "")
    console.print(
        f"{result.filename}: {result.duration_s:.1f} s, {result.num_speakers} speaker(s); "
        f"risk [{style}]{result.risk.level}[/] ({result.risk.score:.2f}): {result.risk.verdict}"
    )
    people = Table("speaker", "identified as", "speech", "turns", "P(synthetic)", "risk")
    for s in result.speakers:
        spoof = "-" if s.spoof_probability is None else f"{s.spoof_probability:.2f}"
        people.add_row(
            s.speaker,
            s.display_name or "[yellow]unknown[/]",
            f"{s.speech_s:.1f} s",
            str(s.turns),
            spoof + (" [red]synthetic[/]" if s.is_synthetic else ""),
            f"[{_LEVEL_STYLE.get(s.risk.level, '')}]{s.risk.level}[/] {s.risk.verdict}",
        )
    console.print(people)
    turns = Table("from (s)", "to (s)", "speaker", "P(synthetic)", "", title="Turns")
    for t in result.turns:
        spoof = "-" if t.spoof_probability is None else f"{t.spoof_probability:.2f}"
        notes = ("synthetic " if t.is_synthetic else "") + ("overlap" if t.overlap else "")
        name = t.speaker + (f" ({t.display_name})" if t.display_name else "")
        turns.add_row(f"{t.start_s:.2f}", f"{t.end_s:.2f}", name, spoof, notes.strip())
    console.print(turns)
    for alert_id in result.alert_ids:
        console.print(f"[yellow]Alert raised[/]: {alert_id}")
