"""`prsynth demo`: the whole pipeline on the bundled sample, offline."""

from __future__ import annotations

import click

from prsynth.cli._common import progress_bar
from prsynth.demo import next_steps, run_demo


@click.command("demo")
@click.option("--out", default="prsynth-demo", show_default=True, metavar="DIR",
              help="Folder for the demo's store, selected.jsonl and report.html.")
@click.option("--k", "k", type=click.IntRange(min=1), default=78, show_default=True,
              help="How many requests to select.")
def command(out: str, k: int) -> None:
    """Run import, offline synthesis, embed, score, dedupe, cluster, select and report
    on the bundled sample PRs, with no network (ignores --store: uses DIR/prsynth.db)."""
    say = lambda line: click.echo(line, err=True)  # noqa: E731
    with progress_bar("working") as bar:
        result = run_demo(out, k=k, say=say, progress=bar)
    for line in next_steps(result):
        click.echo(line, err=True)
