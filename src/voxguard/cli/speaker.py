"""``voxguard embed`` and ``voxguard compare``: thin shells over ``SpeakerEngine``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from voxguard.cli.errors import handle_errors
from voxguard.cli.local import settings

console = Console()


def register(app: typer.Typer) -> None:
    app.command()(embed)
    app.command()(compare)


@handle_errors
def embed(
    file: Annotated[Path, typer.Argument(help="Audio file to embed.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Print the speaker embedding of the speech in FILE."""
    from voxguard.speaker.engine import SpeakerEngine

    embedding = SpeakerEngine(settings()).embed_source(file)
    report = {
        "file": str(file),
        "model_version": embedding.model_version,
        "speech_s": embedding.speech_s,
        "quality": embedding.quality,
        "condition": embedding.condition,
        "embedding": [round(float(x), 6) for x in embedding.vector],
    }
    if as_json:
        typer.echo(json.dumps(report))
        return
    table = Table(show_header=False, title=str(file))
    for key in ("model_version", "speech_s", "quality", "condition"):
        table.add_row(key, str(report[key]))
    head = ", ".join(f"{x:.3f}" for x in embedding.vector[:6])
    table.add_row("embedding", f"{embedding.vector.size} values: [{head}, ...]")
    console.print(table)


@handle_errors
def compare(
    file_a: Annotated[Path, typer.Argument(help="Enrollment recording.")],
    file_b: Annotated[Path, typer.Argument(help="Test recording.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Same speaker? Enroll FILE_A, verify FILE_B: score, probability and decision."""
    from voxguard.speaker.engine import SpeakerEngine

    engine = SpeakerEngine(settings())
    voiceprint = engine.enroll([engine.embed_source(file_a, variants=True)])
    result = engine.verify(voiceprint, engine.embed_source(file_b))
    report = {
        "file_a": str(file_a),
        "file_b": str(file_b),
        "score": result.score,
        "normalized_score": result.normalized_score,
        "llr": result.llr,
        "probability": result.probability,
        "threshold": result.threshold,
        "decision": "same speaker" if result.accepted else "different speakers",
        "accepted": result.accepted,
    }
    if as_json:
        typer.echo(json.dumps(report))
        return
    table = Table(show_header=False, title=f"{file_a.name} vs {file_b.name}")
    for key in ("score", "normalized_score", "llr", "probability", "threshold", "decision"):
        table.add_row(key, str(report[key]))
    console.print(table)
