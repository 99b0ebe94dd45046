"""`prsynth cluster`: spherical k-means over the non-duplicate queries."""

from __future__ import annotations

import click

from prsynth.cli._common import RunContext, echo_json, pass_run, progress_bar
from prsynth.stages.registry import run_stage


@click.command("cluster")
@click.option("--k", "k", default=None, metavar="N|auto",
              help="Number of clusters, or 'auto' = round(sqrt(n/2)) capped at 300 "
                   "(default: [cluster] k).")
@click.option("--seed", type=int, default=None, help="Random seed (default: [cluster] seed, 0).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON on stdout.")
@pass_run
def command(run: RunContext, k: str | None, seed: int | None, as_json: bool) -> None:
    """Cluster the non-duplicate queries, label each cluster and lay them out on a map."""
    config = run.config.override("cluster", k=k, seed=seed)
    with progress_bar("clustering") as progress:
        report = run_stage(run.store(), config, "cluster", progress)
    if as_json:
        echo_json(report.to_dict())
    click.echo(report.summary(), err=True)
