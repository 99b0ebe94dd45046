"""`prsynth dupes`: the duplicate groups, kept and duplicate texts side by side."""

from __future__ import annotations

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from prsynth.cli._common import RunContext, echo_json, pass_run
from prsynth.outputs.inspect import duplicate_listing
from prsynth.text.terminal import terminal_text


@click.command("dupes")
@click.option("--limit", type=click.IntRange(min=0), default=20, show_default=True,
              help="Show the N largest groups (0: all).")
@click.option("--json", "as_json", is_flag=True, help="Print the groups as JSON on stdout.")
@pass_run
def command(run: RunContext, limit: int, as_json: bool) -> None:
    """List duplicate groups: the kept query beside each duplicate and why."""
    groups = duplicate_listing(run.store(write=False), limit)
    if as_json:
        echo_json(groups)
        return
    console = Console()
    if not groups:
        console.print("no duplicates found")
        return
    table = Table(title="duplicate groups (kept ← duplicate)", show_lines=True)
    table.add_column("group", justify="right")
    table.add_column("kept")
    table.add_column("duplicate")
    table.add_column("reason")
    table.add_column("cosine", justify="right")
    for number, group in enumerate(groups, 1):
        kept = group["representative"]
        for duplicate in group["duplicates"]:
            table.add_row(
                str(number), _cell(kept), _cell(duplicate), duplicate["reason"],
                f"{duplicate['similarity']:.3f}",
            )
    console.print(table)


def _cell(query: dict) -> Text:
    """A query's id in bold and its text below, without markup read from the text."""
    cell = Text(terminal_text(f"{query['id']} ({query['pr_id']})"), style="bold")
    cell.append("\n" + terminal_text(query["query"]), style="")
    return cell
