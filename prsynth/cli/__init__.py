"""The `prsynth` command: a thin click layer over the library, split by noun."""

from __future__ import annotations

import logging

import click

from prsynth import __version__
from prsynth.cli._common import PrsynthGroup, RunContext
from prsynth.config import load_config
from prsynth.errors import PrsynthError


@click.group(cls=PrsynthGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="prsynth")
@click.option(
    "--store", metavar="PATH", default=None,
    help="SQLite store (default: $PRSYNTH_STORE, else `store` in prsynth.toml, else ./prsynth.db).",
)
@click.option(
    "--config", "config_path", metavar="FILE", default=None,
    help="Config file (default: ./prsynth.toml when present).",
)
@click.option("-v", "--verbose", is_flag=True, help="Log progress details to stderr.")
@click.pass_context
def cli(ctx: click.Context, store: str | None, config_path: str | None, verbose: bool) -> None:
    """Turn merged pull requests into realistic coding-agent requests and pick the best few."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="prsynth: %(message)s",
    )
    try:
        config = load_config(config_path)
    except PrsynthError as exc:
        raise click.UsageError(str(exc)) from None
    run = RunContext(config=config, store_path=store or config.store)
    ctx.obj = run
    ctx.call_on_close(run.close)


def _register() -> None:
    from prsynth.cli import (
        cluster,
        clusters,
        crawl,
        dedupe,
        demo,
        dupes,
        embed,
        export,
        mark,
        report,
        run,
        score,
        selection,
        stats,
        synth,
    )

    for module in (crawl, export, stats, synth, embed, dedupe, dupes, cluster, clusters, score,
                   selection, mark, report, run, demo):
        cli.add_command(module.command)
    cli.add_command(selection.selections_command)


_register()


def main() -> None:
    cli(prog_name="prsynth")
