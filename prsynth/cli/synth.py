"""`prsynth synth`: turn stored PRs into requests with a prompt template and an LLM."""

from __future__ import annotations

import contextlib

import click

from prsynth.cli._common import RunContext, echo_json, pass_run, progress_bar
from prsynth.errors import PartialFailure
from prsynth.llm import make_backend
from prsynth.stages.synth import SynthOptions, synthesize
from prsynth.store.lock import store_lock


@click.command("synth")
@click.option("--prompt", default="vibe_request", show_default=True, metavar="NAME",
              help="Template in prompts/ (or a path to a .j2 file).")
@click.option("--llm", type=click.Choice(["openai", "offline"]), default=None,
              help="Backend (default: [llm] backend, offline). openai = any OpenAI-compatible "
                   "server.")
@click.option("--model", default=None, metavar="NAME", help="Model name (default: [llm] model).")
@click.option("--concurrency", type=click.IntRange(min=1, max=512), default=None,
              help="Calls in flight at once (default: [llm] concurrency, 8).")
@click.option("--limit", type=click.IntRange(min=0), default=None,
              help="Synthesize at most N PRs this run.")
@click.option("--repo", default=None, metavar="OWNER/NAME", help="Only PRs of this repository.")
@click.option("--dry-run", is_flag=True,
              help="Render every prompt and print calls, tokens and cost; send nothing.")
@click.option("--max-cost", type=click.FloatRange(min=0), default=None, metavar="USD",
              help="Never spend more than this (default: [llm] max_cost, 0 = no cap).")
@click.option("--redo", is_flag=True,
              help="Re-make queries that exist (answers still come from the cache).")
@click.option("--batch", is_flag=True,
              help="Through the OpenAI Batch API: half price, answers within a day; a re-run "
                   "resumes a submitted batch.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON on stdout.")
@pass_run
def command(run: RunContext, prompt: str, llm: str | None, model: str | None,
            concurrency: int | None, limit: int | None, repo: str | None, dry_run: bool,
            max_cost: float | None, redo: bool, batch: bool, as_json: bool) -> None:
    """Synthesize one request per PR that has none yet (cached, cost-capped)."""
    config = run.config.llm
    backend = make_backend(config, llm=llm, model=model)
    options = SynthOptions(
        prompt=prompt, limit=limit, repo=repo, dry_run=dry_run, redo=redo, batch=batch,
        concurrency=concurrency or config.concurrency,
        max_cost=max_cost if max_cost is not None else (config.max_cost or None),
    )
    # Two runs at once would both pay for the same answers and log them twice.
    lock = contextlib.nullcontext() if dry_run else store_lock(run.store_path, "synth")
    with lock, progress_bar(f"synth ({backend.describe()})") as progress:
        report = synthesize(run.store(), backend, options, progress)
    if as_json:
        echo_json(report.to_dict())
    click.echo(report.summary(), err=True)
    if report.failed:
        raise PartialFailure(
            f"{len(report.failed)} PRs failed (reasons in `prsynth stats`); the rest is stored"
        )
