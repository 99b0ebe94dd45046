"""`prsynth select` (choose k diverse, high-quality queries and store the run) and
`prsynth selections` (the stored runs)."""

from __future__ import annotations

from typing import Any

import click
from rich.console import Console
from rich.table import Table

from prsynth.cli._common import RunContext, echo_json, pass_run, progress_bar
from prsynth.cli.score import WEIGHTS, with_weights
from prsynth.outputs.export import check_output_path, write_records
from prsynth.selection.methods import METHODS
from prsynth.selection.run import select_queries


@click.command("select")
@click.option("--k", "k", type=int, default=None,
              help="How many queries (default: [select] k, 78).")
@click.option("-o", "--output", default=None, metavar="FILE",
              help="Also write the Selected records as JSONL ('-': stdout).")
@click.option("--min-quality", type=float, default=None, metavar="Q",
              help="Leave out queries scored below Q (0..1).")
@click.option("--per-repo-cap", default=None, metavar="N|auto",
              help="At most N items from one repository (0: no cap; default auto: 40% of k).")
@click.option("--quota", "quotas", default=None, metavar="TYPE=SHARE,...",
              help="Task-type quotas as shares of k, e.g. bugfix=0.4,feature=0.4.")
@click.option("--per-cluster-cap", type=int, default=None, metavar="N",
              help="At most N items from one cluster (0: no cap).")
@click.option("--seed", type=int, default=None, help="Random seed (ties, random method).")
@click.option("--method", type=click.Choice(METHODS), default=None,
              help="facility (default): quality-weighted coverage; mmr; kcenter; random.")
@click.option("--quality-weight", type=float, default=None, metavar="W",
              help="Weight of the quality term against coverage (default 1).")
@click.option("--name", default=None, help="Name of the stored run (default selection-N).")
@click.option("--verified-only", is_flag=True, default=None,
              help="Only queries whose PR `prsynth verify` verified.")
@WEIGHTS
@click.option("--json", "as_json", is_flag=True, help="Print run name and summary as JSON.")
@pass_run
def command(run: RunContext, output: str | None, weights_file: str | None, as_json: bool,
            **flags: Any) -> None:
    """Choose k queries that cover the candidates well and score high; store the run."""
    if output == "-" and as_json:
        raise click.UsageError("-o - and --json both write to stdout; pass -o FILE")
    if output:
        check_output_path(output, run.store_path)
    config = with_weights(run.config, weights_file)
    name = flags.pop("name")
    config = config.override("select", **flags)
    with progress_bar("selecting") as bar:
        result = select_queries(run.store(), config, name=name or "", progress=bar)
    if output:
        write_records(result.records, output)
    if as_json:
        echo_json({"name": result.name, "stages_run": result.stages_run,
                   "summary": result.summary})
    else:
        print_summary(result.name, result.summary)
    if result.stages_run:
        click.echo(f"brought up to date first: {', '.join(result.stages_run)}", err=True)
    where = f"; wrote them to {output}" if output and output != "-" else ""
    click.echo(f"selected {len(result.records)} queries as {result.name!r}{where}", err=True)


def print_summary(name: str, summary: dict[str, Any]) -> None:
    """Items per repository, cluster and task type, mean quality, coverage against random."""
    console = Console(stderr=True)
    table = Table(title=f"{name}: {summary['selected']} of {summary['candidates']} candidates")
    table.add_column("by")
    table.add_column("value")
    table.add_column("items", justify="right")
    for repo, count in summary["per_repo"].items():
        table.add_row("repository", repo, str(count))
    for cluster, row in summary["per_cluster"].items():
        table.add_row("cluster", f"{cluster} {row['label']}", str(row["count"]))
    for task_type, count in summary["per_task_type"].items():
        table.add_row("task type", task_type, str(count))
    console.print(table)
    gain = summary["coverage_vs_random"]
    console.print(
        f"mean quality {summary['mean_quality']:.3f} (candidates "
        f"{summary['candidate_mean_quality']:.3f}); coverage {summary['coverage']:.3f} vs "
        f"{summary['random_coverage']:.3f} for a random choice of the same size"
        + (f" ({gain:+.0%})" if gain is not None else "")
    )
    if summary["excluded"]:
        console.print("left out: " + ", ".join(f"{n} {r}" for r, n in summary["excluded"].items()))


@click.command("selections")
@click.option("--json", "as_json", is_flag=True, help="Print the runs as JSON on stdout.")
@pass_run
def selections_command(run: RunContext, as_json: bool) -> None:
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
