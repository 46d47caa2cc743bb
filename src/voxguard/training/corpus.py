"""``python -m voxguard.training.corpus``: install the generators, build the corpus.

python -m voxguard.training.corpus setup
python -m voxguard.training.corpus build --out /work/corpus --seed 0
python -m voxguard.training.corpus build --out DIR --generators piper,espeak-ng --per-generator 20
python -m voxguard.training.corpus list
"""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path
from typing import Annotated

import typer

from voxguard.training.builder import BuildConfig, CorpusBuilder
from voxguard.training.generators import all_generators

DEFAULT_DATA_DIR = Path(__file__).resolve().parents[3].parent / "shared" / "data"
SETUP_SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "setup-generators.sh"

app = typer.Typer(add_completion=False, help="Build the spoof-detection training corpus.")


@app.command()
def build(
    out: Annotated[Path, typer.Option(help="Corpus folder (outside the repository).")],
    seed: Annotated[int, typer.Option(help="Seed for texts, voices, cuts and augmentation.")] = 0,
    generators: Annotated[
        str, typer.Option(help="Comma-separated generator names (default: all; see `list`).")
    ] = "",
    per_generator: Annotated[
        int | None, typer.Option(help="Clips per spoof generator (default: each one's own).")
    ] = None,
    bonafide_limit: Annotated[
        int | None, typer.Option(help="Genuine units per corpus (default: all of them).")
    ] = None,
    data_dir: Annotated[
        Path, typer.Option(help="shared/data with librispeech/ and fsdd/.")
    ] = DEFAULT_DATA_DIR,
    max_minutes_per_generator: Annotated[
        float | None, typer.Option(help="Stop a generator after this long (resumable).")
    ] = None,
    no_augmented_copies: Annotated[
        bool, typer.Option(help="Write only the clean copy of each clip.")
    ] = False,
) -> None:
    """Generate (or resume) the corpus and write OUT/manifest.csv."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    names = [n.strip() for n in generators.split(",") if n.strip()] or None
    config = BuildConfig(
        out=out,
        data_dir=data_dir,
        seed=seed,
        generators=names,
        per_generator=per_generator,
        bonafide_limit=bonafide_limit,
        max_seconds_per_generator=(
            max_minutes_per_generator * 60 if max_minutes_per_generator else None
        ),
        augmented_copies=not no_augmented_copies,
    )
    try:
        reports = CorpusBuilder(config).build()
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    for report in reports:
        state = f"skipped ({report.skipped})" if report.skipped else f"{report.clips} clips"
        typer.echo(f"{report.name:18s} {state}, {report.failures} failed, {report.seconds:.0f} s")


@app.command("list")
def list_generators() -> None:
    """Show every generator, its family, license and whether it can run here."""
    for generator in all_generators():
        reason = generator.unavailable_reason()
        state = "ready" if reason is None else f"unavailable: {reason}"
        typer.echo(f"{generator.name:18s} {generator.family:15s} {state}\n    {generator.license}")


@app.command()
def setup() -> None:
    """Install the generators: Debian packages (as root) and the venv's `train` extra."""
    if not SETUP_SCRIPT.is_file():
        raise typer.BadParameter(f"{SETUP_SCRIPT} not found: run from a source checkout")
    subprocess.run(["bash", str(SETUP_SCRIPT)], check=True, cwd=SETUP_SCRIPT.parents[1])


if __name__ == "__main__":
    app()
