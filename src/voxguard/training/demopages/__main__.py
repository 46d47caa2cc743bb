"""``python -m voxguard.training.demopages``: check rule sets, build the real-world corpus.

python -m voxguard.training.demopages check --sources DIR [--repo OWNER/NAME] [--show-paths]
python -m voxguard.training.demopages build --sources DIR --out DIR
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from voxguard.training.demopages.build import BuildOptions, build_corpus
from voxguard.training.demopages.check import check_rules
from voxguard.training.demopages.guarding import DEFAULT_GUARD_DIR
from voxguard.training.demopages.rules import load_rule_file, load_rule_sets

app = typer.Typer(add_completion=False, help="Real-world deepfake corpus from public demo pages.")


@app.callback()
def main() -> None:
    """Check rule sets against their repositories; build the guarded corpus."""


SourcesOption = Annotated[
    Path, typer.Option(help="Folder of git repositories (owner+name/ or owner/name/).")
]


@app.command()
def check(
    sources: SourcesOption,
    repo: Annotated[
        list[str] | None, typer.Option(help="owner/name to check (repeatable; default: all).")
    ] = None,
    rules: Annotated[
        Path | None, typer.Option(help="A rule file or folder (default: the bundled rules).")
    ] = None,
    show_paths: Annotated[bool, typer.Option(help="Print every path and its label.")] = False,
) -> None:
    """Dry-run the rules: counts per label, family, system and language, skips, unmatched."""
    if rules is not None and rules.is_file():
        sets = [load_rule_file(rules)]
    else:
        sets = load_rule_sets(rules, repo)
    unmatched = 0
    for rule_set in sets:
        result = check_rules(rule_set, sources)
        unmatched += len(result.unmatched)
        typer.echo(result.render(show_paths=show_paths))
    if unmatched:
        typer.echo(f"{unmatched} audio files match no rule and no skip", err=True)
        raise typer.Exit(1)


DEFAULT_DEMOS = Path(__file__).resolve().parents[5] / "shared" / "data" / "demos"


@app.command()
def build(
    sources: SourcesOption,
    out: Annotated[Path, typer.Option(help="Corpus folder (outside the repository).")],
    demos: Annotated[
        Path, typer.Option(help="shared/data/demos: deduplicated against, guard drops listed.")
    ] = DEFAULT_DEMOS,
    no_demos: Annotated[bool, typer.Option(help="Do not deduplicate against the demos.")] = False,
    guard: Annotated[
        Path, typer.Option(help="Folder of the holdout guard (guard.py).")
    ] = DEFAULT_GUARD_DIR,
    repo: Annotated[
        list[str] | None, typer.Option(help="Only these owner/name (repeatable).")
    ] = None,
    rules: Annotated[
        Path | None, typer.Option(help="Folder of rule files (default: the bundled rules).")
    ] = None,
    jobs: Annotated[int, typer.Option(min=1, help="Repositories extracted in parallel.")] = 1,
) -> None:
    """Build (or resume) the corpus: OUT/manifest.csv, dropped.csv, copies.csv, report.md."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if not no_demos and not (demos / "manifest.csv").is_file():
        raise typer.BadParameter(f"no manifest.csv in {demos}; pass --demos DIR or --no-demos")
    options = BuildOptions(
        sources=sources, out=out, demos=None if no_demos else demos, guard_dir=guard, jobs=jobs
    )
    counts = build_corpus(load_rule_sets(rules, repo), options)
    typer.echo(
        f"{counts['clips']} clips from {counts['sources']} sources ({counts['rule_files']} rule "
        f"files) in {out / 'manifest.csv'}; "
        f"{counts['dropped']} dropped (dropped.csv); report: {out / 'report.md'}"
    )


if __name__ == "__main__":
    app()
