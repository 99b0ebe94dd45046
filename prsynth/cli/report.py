"""`prsynth report`: the self-contained HTML report of clusters and the selection."""

from __future__ import annotations

import click

from prsynth.cli._common import pass_run
from prsynth.outputs.export import check_output_path
from prsynth.outputs.report import build_report, write_report


@click.command("report")
@click.option("-o", "--output", metavar="FILE", default="report.html", show_default=True,
              help="Where to write the HTML file.")
@pass_run
def command(run, output: str) -> None:
    """Write an HTML report: the map of all requests, cluster cards and the selected set."""
    check_output_path(output, run.store_path)
    data = build_report(run.store(write=False), run.config)
    path = write_report(data, output)
    click.echo(
        f"wrote {path} ({len(data.points['id'])} requests, {len(data.clusters)} clusters, "
        f"{len(data.selected)} selected); open it in a browser, no network needed",
        err=True,
    )
