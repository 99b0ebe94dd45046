"""`prsynth score`: a quality score per query from named, reweightable features."""

from __future__ import annotations

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from prsynth.cli._common import RunContext, echo_json, pass_run, progress_bar, safe_cells
from prsynth.config import Config
from prsynth.stages.registry import run_stage
from prsynth.stages.score import explain, load_weights_file
from prsynth.store.lock import store_lock
from prsynth.text.terminal import terminal_text

WEIGHTS = click.option(
    "--weights", "weights_file", metavar="FILE", default=None,
    help="TOML file of feature weights (`feature = weight`), merged over [score] weights.",
)


def with_weights(config: Config, weights_file: str | None) -> Config:
    """The config with the weights file (if any) merged over `[score] weights`."""
    if not weights_file:
        return config
    return config.override(
        "score", weights={**config.score.weights, **load_weights_file(weights_file)}
    )


def run_judge(run: RunContext, llm: str | None, model: str | None, max_cost: float | None,
              batch: bool = False) -> str:
    """Rate every query with the LLM judge (prsynth.stages.judge, through the LLM layer)."""
    from prsynth.llm import make_backend
    from prsynth.stages.judge import judge_queries

    backend = make_backend(run.config.llm, llm=llm or run.config.llm.backend, model=model)
    with store_lock(run.store_path, "judge"):
        result = judge_queries(
            run.store(), backend, max_cost=max_cost, concurrency=run.config.llm.concurrency,
            batch=batch,
        )
    return result.summary()


@click.command("score")
@click.option("--judge", is_flag=True,
              help="Also rate each query with the LLM judge (cached, cost-capped).")
@click.option("--llm", type=click.Choice(["openai", "offline"]), default=None,
              help="LLM backend of the judge (default: [llm] backend).")
@click.option("--model", default=None, help="Judge model (default: [llm] model).")
@click.option("--max-cost", type=float, default=None, metavar="USD",
              help="Stop judging once this much has been spent.")
@click.option("--batch", is_flag=True,
              help="Judge through the OpenAI Batch API (half price; a re-run resumes).")
@WEIGHTS
@click.option("--explain", "explain_id", metavar="QUERY_ID", default=None,
              help="Show each feature's value and contribution for one query; score nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON on stdout.")
@pass_run
def command(
    run: RunContext, judge: bool, llm: str | None, model: str | None, max_cost: float | None,
    batch: bool, weights_file: str | None, explain_id: str | None, as_json: bool,
) -> None:
    """Score every query in [0, 1] from named features (see README for the table)."""
    config = with_weights(run.config, weights_file)
    if explain_id is not None:
        detail = explain(run.store(write=False), explain_id, config.score.weights)
        if as_json:
            echo_json(detail)
            return
        print_explanation(detail)
        return
    if batch and not judge:
        raise click.UsageError("--batch is for the judge: use it with --judge")
    if judge:
        click.echo(run_judge(run, llm, model, max_cost, batch), err=True)
    with progress_bar("scoring") as progress:
        report = run_stage(run.store(), config, "score", progress)
    if as_json:
        echo_json(report.to_dict())
    click.echo(report.summary(), err=True)


def print_explanation(detail: dict) -> None:
    table = Table(title=terminal_text(f"{detail['query_id']}: quality {detail['quality']:.3f}"))
    table.add_column("feature")
    table.add_column("value", justify="right")
    table.add_column("weight", justify="right")
    table.add_column("contribution", justify="right")
    table.add_column("meaning")
    for row in detail["features"]:
        table.add_row(*safe_cells(row["feature"], f"{row['value']:.2f}", f"{row['weight']:g}",
                                  f"{row['contribution']:.3f}", row["meaning"]))
    console = Console()
    console.print(Text(terminal_text(detail["query"])))
    console.print(table)
    evidence = detail.get("evidence", {})
    for label, key in (("tests name the changed", "test_match"),
                       ("approach words of the title repeated", "approach_words_repeated"),
                       ("new identifiers named", "identifiers_leaked")):
        if evidence.get(key):
            console.print(f"{label}: {', '.join(evidence[key])}", markup=False)
    if evidence.get("judge_reason"):
        console.print(f"judge: {evidence['judge_reason']}", markup=False)
