"""`prsynth run`: the scheduled job — crawl, synth, stages, select, exports, report."""

from __future__ import annotations

import click

from prsynth.cli._common import RunContext, echo_json, progress_bar
from prsynth.config import load_config
from prsynth.crawl.lock import crawl_lock
from prsynth.pipeline import run_pipeline


@click.command("run")
@click.option("--config", "config_path", metavar="FILE", default=None,
              help="The config file (default: the global --config, else ./prsynth.toml).")
@click.option("--max-requests", type=click.IntRange(min=0), default=0,
              help="Stop crawling after N GitHub API requests (0: [crawl] max_requests).")
@click.option("--json", "as_json", is_flag=True, help="Print the run summary as JSON.")
@click.pass_context
def command(ctx: click.Context, config_path: str | None, max_requests: int,
            as_json: bool) -> None:
    """Bring everything up to date: crawl every [[sources]] entry, synthesize requests for
    new PRs, run stale stages, select, and write the exports and the report.

    The form for cron and systemd timers: one lock per store, exit 0 done, 3 partly done.
    """
    run: RunContext = ctx.obj
    if config_path is not None:
        run.config = load_config(config_path)
        if not ctx.parent.params.get("store"):
            run.store_path = run.config.store
    with crawl_lock(run.store_path), progress_bar("run") as progress:
        summary = run_pipeline(run.store(), run.config, progress=progress,
                               max_requests=max_requests,
                               say=lambda line: click.echo(line, err=True))
    if as_json:
        echo_json(summary.to_dict())
    error = summary.outcome()
    if error is not None:
        raise error
