"""``voxguard`` command line: thin commands over the same services the API uses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from voxguard import __version__
from voxguard.cli import (
    admin,
    analyze,
    batch,
    datasets,
    jobs,
    models,
    prune,
    serve,
    speakers,
    stream,
)
from voxguard.cli import speaker as speaker_cli
from voxguard.cli import spoof as spoof_cli
from voxguard.cli.errors import handle_errors
from voxguard.cli.evaluate import eval_app

app = typer.Typer(
    name="voxguard",
    help="VoxGuard: who is speaking, and is it a live human?",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
) -> None:
    if version:
        console.print(__version__)
        raise typer.Exit()


@app.command()
@handle_errors
def inspect(
    file: Annotated[Path, typer.Argument(help="Audio file to analyse.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Decode a file and report its format, speech regions and quality."""
    from voxguard.audio.analysis import AudioFrontEnd

    analyzed = AudioFrontEnd().analyze(file)
    meta, q = analyzed.clip.metadata, analyzed.quality
    report = {
        "file": str(file),
        "container": meta.container,
        "codec": meta.codec,
        "original_sample_rate": meta.original_sample_rate,
        "channels": meta.channels,
        "duration_s": round(meta.duration_s, 3),
        "speech_s": q.speech_s,
        "segments": [[round(s.start_s, 2), round(s.end_s, 2)] for s in analyzed.segments],
        "level_dbfs": q.level_dbfs,
        "snr_db": q.snr_db,
        "clipping_ratio": q.clipping_ratio,
        "bandwidth_hz": q.bandwidth_hz,
        "quality_score": q.score(),
        "codes": [str(c) for c in q.codes],
    }
    if as_json:
        typer.echo(json.dumps(report))
        return
    table = Table(show_header=False, title=str(file))
    for key, value in report.items():
        if key != "file":
            table.add_row(key, str(value))
    console.print(table)


# Speaker engine commands (embed, compare) and the evaluation sub-app (eval sv, ...).
speaker_cli.register(app)
# Spoof detector commands (detect); eval cm registers on the shared eval sub-app.
spoof_cli.register(app)
app.add_typer(eval_app, name="eval")

# Service workflows (issue 4): each module registers its own commands.
for _module in (serve, speakers, admin, analyze, stream, batch, datasets, jobs, models, prune):
    _module.register(app)


def main() -> None:
    app()
