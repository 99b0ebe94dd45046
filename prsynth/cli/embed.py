"""`prsynth embed`: embed every query not yet embedded."""

from __future__ import annotations

import click

from prsynth.cli._common import RunContext, echo_json, pass_run, progress_bar
from prsynth.stages.embed_onnx import BACKENDS
from prsynth.stages.registry import run_stage


@click.command("embed")
@click.option("--model", default=None, metavar="NAME_OR_PATH",
              help="sentence-transformers model name or folder (default: [embed] model, "
                   "all-MiniLM-L6-v2 from the bundled package).")
@click.option("--batch-size", type=click.IntRange(min=1), default=None,
              help="Texts per model call (default: [embed] batch_size, 64).")
@click.option("--backend", type=click.Choice(BACKENDS), default=None,
              help="openvino (the ONNX export in bfloat16 on CPUs that have it, else "
                   "float32), onnx (float32), onnx-int8 (quantized, vectors differ, stored "
                   "apart) or torch (default: [embed] backend, openvino).")
@click.option("--threads", type=click.IntRange(min=0), default=None,
              help="Batches run at once, one thread each; 0 = one per core "
                   "(default: [embed] threads, 0).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON on stdout.")
@pass_run
def command(run: RunContext, model: str | None, batch_size: int | None, backend: str | None,
            threads: int | None, as_json: bool) -> None:
    """Embed every query not yet embedded (cached by model and text)."""
    config = run.config.override("embed", model=model, batch_size=batch_size, backend=backend,
                                 threads=threads)
    with progress_bar("embedding") as progress:
        report = run_stage(run.store(), config, "embed", progress)
    if as_json:
        echo_json(report.to_dict())
    click.echo(report.summary(), err=True)
