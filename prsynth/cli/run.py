"""`prsynth run`: the scheduled job — crawl, synth, stages, select, exports, report."""

from __future__ import annotations

import click

from prsynth.cli._common import CONFIG_FILE, MAX_REQUESTS, RunContext, echo_json, progress_bar
from prsynth.crawl.lock import crawl_lock
from prsynth.pipeline import run_pipeline
from prsynth.store.lock import store_lock


@click.command("run")
@CONFIG_FILE
@MAX_REQUESTS
@click.option("--json", "as_json", is_flag=True, help="Print the run summary as JSON.")
@click.pass_context
def command(ctx: click.Context, config_path: str | None, max_requests: int,
            as_json: bool) -> None:
    """Bring everything up to date: crawl every [[sources]] entry, synthesize requests for
    new PRs, run stale stages, select, and write the exports and the report.

    The form for cron and systemd timers: it holds the crawl and synth locks of the store
    (a second run, crawl or synth exits at once); exit 0 done, 3 partly done.
    """
    run: RunContext = ctx.obj
    run.use_config_file(ctx, config_path)
    with crawl_lock(run.store_path), store_lock(run.store_path, "synth"), \
            progress_bar("run") as progress:
        summary = run_pipeline(run.store(), run.config, progress=progress,
                               max_requests=max_requests,
                               say=lambda line: click.echo(line, err=True))
    if as_json:
        echo_json(summary.to_dict())
    error = summary.outcome()
    if error is not None:
        raise error
