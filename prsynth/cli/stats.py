"""`prsynth stats`: the funnel from crawl to selection."""

from __future__ import annotations

import click
from rich.console import Console
from rich.table import Table

from prsynth.cli._common import RunContext, echo_json, pass_run
from prsynth.outputs.stats import collect_stats


@click.command("stats")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON on stdout.")
@pass_run
def command(run: RunContext, as_json: bool) -> None:
    """Show counts per repository and per drop reason."""
    stats = collect_stats(run.store(write=False), run.config)
    if as_json:
        echo_json(stats)
        return
    table = Table(title=f"prsynth store {stats['store']}")
    table.add_column("repository")
    table.add_column("PRs", justify="right")
    table.add_column("dropped (reason: count)")
    for repo, row in stats["repos"].items():
        dropped = ", ".join(f"{r}: {n}" for r, n in sorted(row["dropped"].items()))
        table.add_row(repo, str(row["prs"]), dropped)
    table.add_row("[b]total[/b]", f"[b]{stats['prs']}[/b]", "")
    console = Console()
    console.print(table)
    console.print(f"queries: {stats['queries']}")
    llm = stats["llm"]
    console.print(
        f"LLM calls: {llm['calls']} ({llm['failed_calls']} failed), tokens in {llm['tokens_in']},"
        f" out {llm['tokens_out']}, cost ${llm['cost_usd']:.4f}"
    )
    console.print(
        f"embedded: {stats['embedded']} ({stats['embedding_model']}), "
        f"duplicates: {stats['duplicates']}, clusters: {stats['clusters']}"
    )
    console.print(
        f"scored: {stats['scored']}, pinned: {stats['pinned']}, rejected: {stats['rejected']}, "
        f"selected: {stats['selected']}"
    )
    if stats["verification"]:
        console.print("verified tasks: " + ", ".join(
            f"{status} {n}" for status, n in stats["verification"].items()))
    for stage, reasons in stats["dropped"].items():
        console.print(f"dropped at {stage}: " + ", ".join(f"{r} {n}" for r, n in reasons.items()))
