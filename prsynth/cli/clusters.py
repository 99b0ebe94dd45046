"""`prsynth clusters [show ID]`: the clusters as a table, or one cluster's members."""

from __future__ import annotations

import click
from rich.console import Console
from rich.table import Table

from prsynth.cli._common import RunContext, echo_json, pass_run, safe_cells
from prsynth.outputs.inspect import cluster_detail, cluster_overview
from prsynth.text.terminal import terminal_text


@click.group("clusters", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print the clusters as JSON on stdout.")
@click.pass_context
def command(ctx: click.Context, as_json: bool) -> None:
    """List clusters: size, label, mean quality, number selected, repositories."""
    if ctx.invoked_subcommand is not None:
        return
    rows = cluster_overview(ctx.find_object(RunContext).store(write=False))
    if as_json:
        echo_json(rows)
        return
    table = Table(title="clusters")
    table.add_column("id", justify="right")
    table.add_column("size", justify="right")
    table.add_column("label")
    table.add_column("quality", justify="right")
    table.add_column("selected", justify="right")
    table.add_column("repos", justify="right")
    for row in rows:
        quality = "–" if row["mean_quality"] is None else f"{row['mean_quality']:.2f}"
        selected = "–" if row["selected"] is None else str(row["selected"])
        table.add_row(*safe_cells(
            str(row["cluster"]), str(row["size"]), row["label"], quality, selected,
            f"{row['repos']} ({', '.join(row['top_repos'])})",
        ))
    Console().print(table)


@command.command("show")
@click.argument("cluster", type=int)
@click.option("--limit", type=click.IntRange(min=0), default=20, show_default=True,
              help="Show the N members nearest the centroid (0: all).")
@click.option("--json", "as_json", is_flag=True, help="Print the members as JSON on stdout.")
@pass_run
def show(run: RunContext, cluster: int, limit: int, as_json: bool) -> None:
    """Show one cluster's members, nearest its centroid first."""
    detail = cluster_detail(run.store(write=False), cluster, limit)
    if as_json:
        echo_json(detail)
        return
    table = Table(
        title=terminal_text(
            f"cluster {detail['cluster']}: {detail['label']} ({detail['size']} queries)"),
        show_lines=True,
    )
    table.add_column("distance", justify="right")
    table.add_column("PR")
    table.add_column("title")
    table.add_column("query")
    table.add_column("selected")
    for member in detail["members"]:
        table.add_row(*safe_cells(
            f"{member['distance']:.3f}", member["pr_id"], member["title"], member["query"],
            "yes" if member["selected"] else "",
        ))
    Console().print(table)
