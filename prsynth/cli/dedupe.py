"""`prsynth dedupe`: group exact, same-change and near-duplicate queries."""

from __future__ import annotations

import click

from prsynth.cli._common import RunContext, echo_json, pass_run, progress_bar
from prsynth.stages.dedupe import dedupe


@click.command("dedupe")
@click.option("--threshold", type=float, default=None, metavar="T",
              help="Cosine similarity in (0, 1] from which two queries are near-duplicates "
                   "(default: [dedupe] threshold, 0.92).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON on stdout.")
@pass_run
def command(run: RunContext, threshold: float | None, as_json: bool) -> None:
    """Mark duplicate queries; each group keeps its best-scored (else oldest) member."""
    threshold = run.config.dedupe.threshold if threshold is None else threshold
    with progress_bar("deduplicating") as progress:
        report = dedupe(run.store(), threshold, progress, config=run.config)
    if as_json:
        echo_json(report.to_dict())
    click.echo(report.summary(), err=True)
