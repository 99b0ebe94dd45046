"""`prsynth verify`: run each task's tests before and after its change."""

from __future__ import annotations

import click

from prsynth.cli._common import RunContext, echo_json, pass_run, progress_bar
from prsynth.stages.verify import VerifyOptions, verify


@click.command("verify")
@click.option("--candidates", is_flag=True,
              help="Verify every candidate (each PR with a query), not the latest selection.")
@click.option("--limit", type=click.IntRange(min=0), default=0, metavar="N",
              help="Verify at most N tasks that are missing or stale (0: all).")
@click.option("--jobs", type=click.IntRange(min=1), default=None, metavar="N",
              help="Tasks verified at once (default: [verify] jobs, 1).")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=None,
              metavar="S", help="Seconds per test run before it is killed "
                                "(default: [verify] timeout, 300).")
@click.option("--runner", type=click.Choice(["venv", "docker"]), default=None,
              help="Where tests run (default: [verify] runner, venv).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON on stdout.")
@pass_run
def command(run: RunContext, candidates: bool, limit: int, jobs: int | None,
            timeout: float | None, runner: str | None, as_json: bool) -> None:
    """Prove tasks executable: their tests fail before the change and pass after.

    This RUNS THE REPOSITORY'S CODE (its build and its tests) on this machine."""
    options = VerifyOptions(candidates=candidates, limit=limit, jobs=jobs or 0,
                            timeout=timeout or 0.0, runner=runner or "")
    with progress_bar("verifying") as progress:
        report = verify(run.store(), run.config, options, progress)
    if as_json:
        echo_json(report.to_dict())
    click.echo(report.summary(), err=True)
