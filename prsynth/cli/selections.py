"""`prsynth selections`: the stored selection runs, newest first."""

from __future__ import annotations

import click
from rich.console import Console
from rich.table import Table

from prsynth.cli._common import RunContext, echo_json, pass_run


@click.command("selections")
@click.option("--json", "as_json", is_flag=True, help="Print the runs as JSON on stdout.")
@pass_run
def command(run: RunContext, as_json: bool) -> None:
    """List stored selection runs: name, when, k, method, seed, quality, coverage."""
    runs = run.store(write=False).selections()
    if as_json:
        echo_json(runs)
        return
    if not runs:
        click.echo("no selections yet; run `prsynth select --k 78`", err=True)
        return
    table = Table(title="selections (newest first)")
    for column in ("id", "name", "created", "k", "method", "seed", "quality", "coverage"):
        table.add_column(column, justify="right" if column in ("id", "k", "seed") else "left")
    for row in runs:
        summary = row["summary"]
        gain = summary.get("coverage_vs_random")
        table.add_row(
            str(row["id"]), row["name"], row["created_at"], str(row["k"]), row["method"],
            str(row["seed"]), f"{summary.get('mean_quality', 0):.3f}",
            f"{summary.get('coverage', 0):.3f}" + (f" ({gain:+.0%} vs random)" if gain else ""),
        )
    Console().print(table)
