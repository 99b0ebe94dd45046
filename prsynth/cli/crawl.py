"""`prsynth crawl ...`: pull merged PRs from a source into the store."""

from __future__ import annotations

import click

from prsynth.cli._common import RunContext, echo_json, pass_run, progress_bar
from prsynth.crawl import CrawlReport, crawl_git, crawl_import
from prsynth.errors import PartialFailure


@click.group("crawl")
def command() -> None:
    """Pull merged PRs from GitHub, local clones or dumps into the store."""


@command.command("git")
@click.argument("path", type=click.Path(file_okay=False, path_type=str))
@click.option("--repo", required=True, metavar="OWNER/NAME", help="The GitHub name of the clone.")
@click.option("--limit", type=click.IntRange(min=0), default=0, help="Store at most N new PRs.")
@click.option("--since", default="", metavar="DATE", help="Only PRs merged on or after DATE.")
@click.option("--include-bots", is_flag=True, help="Keep PRs by bots (dropped by default).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON on stdout.")
@pass_run
def crawl_git_command(
    run: RunContext, path: str, repo: str, limit: int, since: str, include_bots: bool,
    as_json: bool,
) -> None:
    """Mine merged PRs from the local clone at PATH (merge and squash commits)."""
    with progress_bar(f"mining {repo}") as progress:
        report = crawl_git(
            run.store(), path, repo, limit=limit, since=since,
            include_bots=include_bots or run.config.crawl.include_bots,
            max_diff_bytes=run.config.crawl.max_diff_bytes, progress=progress,
        )
    _finish(report, as_json)


@command.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=str))
@click.option("--include-bots", is_flag=True, help="Keep PRs by bots (dropped by default).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON on stdout.")
@pass_run
def crawl_import_command(run: RunContext, file: str, include_bots: bool, as_json: bool) -> None:
    """Load PR records from a JSONL FILE (prsynth export format or SWE-bench rows)."""
    report = crawl_import(
        run.store(), file, include_bots=include_bots or run.config.crawl.include_bots,
        max_diff_bytes=run.config.crawl.max_diff_bytes,
    )
    _finish(report, as_json)


def _finish(report: CrawlReport, as_json: bool) -> None:
    if as_json:
        echo_json(report.to_dict())
    click.echo(report.summary(), err=True)
    for bad in report.bad_lines[:10]:
        click.echo(f"  line {bad.line}: {bad.reason}", err=True)
    if report.bad_lines:
        raise PartialFailure(
            f"{len(report.bad_lines)} lines could not be imported; the rest is stored"
        )
