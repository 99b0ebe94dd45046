"""`prsynth mark`: pin or reject queries by hand; selection honours the marks."""

from __future__ import annotations

import click
from rich.console import Console
from rich.table import Table

from prsynth.cli._common import RunContext, echo_json, pass_run, safe_cells
from prsynth.errors import ConfigError
from prsynth.selection.marks import mark_query


@click.command("mark")
@click.argument("query_id", required=False)
@click.option("--pin", is_flag=True, help="Always select this query.")
@click.option("--reject", is_flag=True, help="Never select this query.")
@click.option("--clear", is_flag=True, help="Remove the query's mark.")
@click.option("--note", default="", help="Why (kept with the mark).")
@click.option("--list", "list_marks", is_flag=True, help="List every mark instead.")
@click.option("--json", "as_json", is_flag=True, help="With --list: print JSON on stdout.")
@pass_run
def command(run: RunContext, query_id: str | None, pin: bool, reject: bool, clear: bool,
            note: str, list_marks: bool, as_json: bool) -> None:
    """Pin (always select) or reject (never select) QUERY_ID; --clear undoes it."""
    chosen = [name for name, on in (("pin", pin), ("reject", reject), ("clear", clear)) if on]
    if len(chosen) > 1 or (list_marks and (chosen or query_id)):
        given = ", ".join(f"--{name}" for name in chosen + (["list"] if list_marks else []))
        raise ConfigError(f"{given} contradict each other; give exactly one of --pin, "
                          "--reject, --clear with QUERY_ID, or --list alone")
    mark = chosen[0] if chosen else None
    if list_marks:
        marks = run.store(write=False).marks()
        if as_json:
            echo_json([vars(m) for m in marks.values()])
            return
        table = Table(title=f"marks ({len(marks)})")
        for column in ("query", "mark", "note", "when"):
            table.add_column(column)
        for m in marks.values():
            table.add_row(*safe_cells(m.query_id, m.mark, m.note, m.created_at))
        Console().print(table)
        return
    if not query_id or not mark:
        raise click.UsageError("give QUERY_ID and one of --pin, --reject, --clear (or --list)")
    click.echo(mark_query(run.store(), query_id, None if mark == "clear" else mark, note), err=True)
