"""`prsynth demo`: the whole pipeline on the bundled sample, offline, in one command.

Import the sample PRs, write a request for each with the offline baseline (no LLM, no
network), then `select --k 78` (which embeds, scores, de-duplicates and clusters on
the way) and write `selected.jsonl` and `report.html`. Every step is the library call
the matching command makes, so the demo shows exactly what a real run does; only the
requests are the baseline's rather than an LLM's, and they are labelled so.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from prsynth.config import Config
from prsynth.crawl.run import crawl_import
from prsynth.llm.offline import OfflineBaseline
from prsynth.outputs.export import write_records
from prsynth.outputs.report import build_report, write_report
from prsynth.progress import Progress, quiet
from prsynth.resources import sample_prs_path
from prsynth.selection.run import select_queries
from prsynth.stages.synth import SynthOptions, synthesize
from prsynth.store import Store

Say = Callable[[str], None]


@dataclass
class DemoResult:
    out: Path
    store: Path
    selected: Path
    report: Path
    prs: int = 0
    queries: int = 0
    chosen: int = 0
    seconds: float = 0.0
    steps: list[tuple[str, float, str]] = field(default_factory=list)


def run_demo(out: str | Path, *, k: int = 78, say: Say = lambda line: None,
             progress: Progress = quiet) -> DemoResult:
    """Run import → synth (offline baseline) → select → export → report into `out`."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    result = DemoResult(out=out, store=out / "prsynth.db", selected=out / "selected.jsonl",
                        report=out / "report.html")
    config = Config(store=str(result.store))
    started = time.perf_counter()

    def step(name: str, work: Callable[[], str]) -> None:
        say(f"[{len(result.steps) + 1}/4] {name} …")
        began = time.perf_counter()
        summary = work()
        seconds = time.perf_counter() - began
        result.steps.append((name, seconds, summary))
        say(f"      {summary} ({seconds:.1f} s)")

    with Store(result.store) as store:
        def load() -> str:
            report = crawl_import(store, sample_prs_path())
            result.prs = store.count_prs()
            return report.summary().replace(str(sample_prs_path()), "bundled sample")

        def write_requests() -> str:
            report = synthesize(store, OfflineBaseline(), SynthOptions())
            result.queries = store.count_queries()
            return report.summary() + " — offline baseline, not an LLM"

        def choose() -> str:
            selection = select_queries(store, config.override("select", k=k),
                                       progress=progress)
            write_records(selection.records, result.selected)
            result.chosen = len(selection.records)
            ran = ", ".join(selection.stages_run) or "nothing stale"
            summary = selection.summary
            return (f"ran {ran}; selected {result.chosen} of {summary['candidates']} "
                    f"candidates as {selection.name!r}, mean quality "
                    f"{summary['mean_quality']:.2f}")

        def report() -> str:
            data = build_report(store, config)
            write_report(data, result.report)
            return f"{len(data.points['id'])} requests on the map, {len(data.clusters)} clusters"

        step("import the bundled sample of merged PRs", load)
        step("write a request per PR with the offline baseline", write_requests)
        step(f"embed, score, dedupe, cluster and select {k}", choose)
        step("write the HTML report", report)
    result.seconds = time.perf_counter() - started
    return result


def next_steps(result: DemoResult) -> list[str]:
    """What to look at, and the commands for a real run."""
    store = f"--store {result.store}"
    return [
        f"Done in {result.seconds:.1f} s: {result.prs} PRs, {result.queries} requests, "
        f"{result.chosen} selected.",
        f"  open {result.report}   (map, clusters and the selected set; works offline)",
        f"  read {result.selected}   (the Selected records, one JSON object per line)",
        "Look around:",
        f"  prsynth {store} clusters",
        f"  prsynth {store} clusters show 0",
        f"  prsynth {store} selections",
        f"  prsynth {store} stats",
        "With a GitHub token and an LLM endpoint (any OpenAI-compatible server):",
        "  export GITHUB_TOKEN=...        # read-only token",
        "  prsynth crawl github pallets/click --limit 500",
        "  export OPENAI_API_KEY=...      # or a local server (vLLM, Ollama, llama.cpp):",
        "  export OPENAI_BASE_URL=http://localhost:8000/v1",
        "  prsynth synth --llm openai --model gpt-4o-mini --dry-run   # see the cost first",
        "  prsynth synth --llm openai --model gpt-4o-mini --max-cost 5",
        "  prsynth select --k 78 -o selected.jsonl && prsynth report -o report.html",
    ]
