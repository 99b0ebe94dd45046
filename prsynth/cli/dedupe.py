"""`prsynth dedupe`: group exact, same-change and near-duplicate queries."""

from __future__ import annotations

import click

from prsynth.cli._common import RunContext, echo_json, pass_run, progress_bar
from prsynth.stages.registry import run_stage


@click.command("dedupe")
@click.option("--threshold", type=float, default=None, metavar="T",
              help="Cosine similarity in (0, 1] from which two queries are near-duplicates "
                   "(default: [dedupe] threshold, 0.92).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON on stdout.")
@pass_run
def command(run: RunContext, threshold: float | None, as_json: bool) -> None:
    """Mark duplicate queries; each group keeps its best-scored (else oldest) member."""
    config = run.config.override("dedupe", threshold=threshold)
    with progress_bar("deduplicating") as progress:
        report = run_stage(run.store(), config, "dedupe", progress)
    if as_json:
        echo_json(report.to_dict())
    click.echo(report.summary(), err=True)
