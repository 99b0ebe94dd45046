"""`prsynth export ...`: write stored records as JSONL or Parquet."""

from __future__ import annotations

import click

from prsynth.cli._common import RunContext, pass_run
from prsynth.outputs.export import FORMATS, check_output_path, write_records
from prsynth.selection.records import stored_selection

FORMAT = click.option("--format", "fmt", type=click.Choice(FORMATS), default="jsonl",
                      show_default=True, help="Output format.")
OUTPUT = click.option("-o", "--output", default="-", metavar="FILE",
                      help="Output file ('-' or none: stdout).")


@click.group("export")
def command() -> None:
    """Write PRs, queries or the selected set as JSONL or Parquet."""


@command.command("prs")
@FORMAT
@OUTPUT
@pass_run
def export_prs(run: RunContext, fmt: str, output: str) -> None:
    """Export every stored PR record."""
    check_output_path(output, run.store_path)
    count = write_records((pr.to_dict() for pr in run.store(write=False).iter_prs()), output, fmt)
    click.echo(f"exported {count} PRs to {'stdout' if output == '-' else output}", err=True)


@command.command("queries")
@FORMAT
@OUTPUT
@pass_run
def export_queries(run: RunContext, fmt: str, output: str) -> None:
    """Export every stored query record (template-defined fields included)."""
    check_output_path(output, run.store_path)
    records = (query.to_dict() for query in run.store(write=False).iter_queries())
    count = write_records(records, output, fmt)
    click.echo(f"exported {count} queries to {'stdout' if output == '-' else output}", err=True)


@command.command("selected")
@FORMAT
@OUTPUT
@click.option("--name", default=None, help="Which stored selection (default: the latest).")
@pass_run
def export_selected(run: RunContext, fmt: str, output: str, name: str | None) -> None:
    """Export a selection's Selected records: query, PR, base commit, patch, test patch, why."""
    check_output_path(output, run.store_path)
    selection, records = stored_selection(run.store(write=False), name)
    count = write_records(records, output, fmt)
    where = "stdout" if output == "-" else output
    click.echo(f"exported {count} selected items of {selection['name']!r} to {where}", err=True)
