"""`prsynth crawl ...`: pull merged PRs from a source into the store."""

from __future__ import annotations

import click

from prsynth.cli._common import (
    CONFIG_FILE,
    MAX_REQUESTS,
    RunContext,
    echo_json,
    pass_run,
    progress_bar,
)
from prsynth.crawl.lock import crawl_lock
from prsynth.crawl.run import crawl_all, crawl_git, crawl_github, crawl_import, crawl_outcome
from prsynth.errors import PartialFailure
from prsynth.sources.base import CrawlReport


@click.group("crawl", invoke_without_command=True)
@CONFIG_FILE
@MAX_REQUESTS
@click.option("--json", "as_json", is_flag=True, help="Print the reports as JSON on stdout.")
@click.pass_context
def command(ctx: click.Context, config_path: str | None, max_requests: int,
            as_json: bool) -> None:
    """Pull merged PRs from GitHub, local clones or dumps into the store.

    Without a subcommand, crawl every [[sources]] entry of the config file
    (--config FILE here, or the global one): the form for cron and systemd timers.
    """
    if ctx.invoked_subcommand is not None:
        return
    # Imported here: PyGithub takes ~0.5 s, which `crawl git` and `crawl import` never need.
    from prsynth.crawl.plan import planned_jobs

    run: RunContext = ctx.obj
    run.use_config_file(ctx, config_path)
    jobs = planned_jobs(run.config, max_requests=max_requests, notify=_say)
    with crawl_lock(run.store_path):
        reports = crawl_all(run.store(), jobs, on_report=_log_line)
    _finish_all(reports, as_json)


@command.command("github")
@click.argument("repos", nargs=-1, required=True, metavar="OWNER/NAME...")
@click.option("--api-url", default="", metavar="URL",
              help="GitHub Enterprise or another server speaking the GitHub REST API "
                   "(default: `[github] api_url` in the config, else api.github.com).")
@click.option("--limit", type=click.IntRange(min=0), default=0,
              help="Store at most N new PRs per repository.")
@click.option("--since", default="", metavar="DATE", help="Only PRs merged on or after DATE.")
@click.option("--include-bots", is_flag=True, help="Keep PRs by bots (dropped by default).")
@click.option("--max-requests", type=click.IntRange(min=0), default=0,
              help="Stop after N API requests (0: no cap).")
@click.option("--json", "as_json", is_flag=True, help="Print the reports as JSON on stdout.")
@pass_run
def crawl_github_command(
    run: RunContext, repos: tuple[str, ...], api_url: str, limit: int, since: str,
    include_bots: bool, max_requests: int, as_json: bool,
) -> None:
    """Crawl merged PRs of GitHub repositories, incrementally.

    The token comes from $GITHUB_TOKEN only; without one the crawl runs anonymously.
    """
    from prsynth.crawl.plan import retry_policy
    from prsynth.sources.github.client import ANONYMOUS_NOTE, RequestBudget
    from prsynth.sources.github.source import github_client

    client = github_client(
        api_url or run.config.github.api_url,
        budget=RequestBudget(max_requests or run.config.crawl.max_requests),
        policy=retry_policy(run.config), notify=_say,
    )
    if client.anonymous:
        _say(ANONYMOUS_NOTE)
    with crawl_lock(run.store_path):
        reports = crawl_github(
            run.store(), list(repos), client=client, limit=limit, since=since,
            include_bots=include_bots or run.config.crawl.include_bots,
            max_diff_bytes=run.config.crawl.max_diff_bytes, on_report=_log_line,
            tasks=run.config.filters,
        )
    _finish_all(reports, as_json)


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
    with crawl_lock(run.store_path), progress_bar(f"mining {repo}") as progress:
        report = crawl_git(
            run.store(), path, repo, limit=limit, since=since,
            include_bots=include_bots or run.config.crawl.include_bots,
            max_diff_bytes=run.config.crawl.max_diff_bytes, progress=progress,
            tasks=run.config.filters,
        )
    _finish(report, as_json)


@command.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=str))
@click.option("--include-bots", is_flag=True, help="Keep PRs by bots (dropped by default).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON on stdout.")
@pass_run
def crawl_import_command(run: RunContext, file: str, include_bots: bool, as_json: bool) -> None:
    """Load PR records from a JSONL FILE (prsynth export format or SWE-bench rows)."""
    with crawl_lock(run.store_path):
        report = crawl_import(
            run.store(), file, include_bots=include_bots or run.config.crawl.include_bots,
            max_diff_bytes=run.config.crawl.max_diff_bytes, tasks=run.config.filters,
        )
    _finish(report, as_json)


def _say(message: str) -> None:
    click.echo(f"prsynth: {message}", err=True)


def _log_line(report: CrawlReport) -> None:
    """One line per repository on stderr as it finishes, for cron and journald logs."""
    click.echo(report.summary(), err=True)


def _finish_all(reports: list[CrawlReport], as_json: bool) -> None:
    if as_json:
        echo_json([r.to_dict() for r in reports])
    error = crawl_outcome(reports)
    if error is not None:
        raise error


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
