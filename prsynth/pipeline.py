"""`prsynth run`: the scheduled job, every stage in data-flow order under one lock.

crawl every `[[sources]]` entry → synthesize requests for new PRs (within `[llm]
max_cost`) → bring embed, score, dedupe and cluster up to date → select → write the
exports and the report. Each step is the library call its own command makes, and each
is resumable, so a run killed anywhere is finished by the next one
(docs/architecture.md, "The scheduled run").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prsynth.config import Config
from prsynth.crawl.plan import planned_jobs
from prsynth.crawl.run import crawl_all, crawl_outcome
from prsynth.errors import ConfigError, PartialFailure, PrsynthError
from prsynth.llm import make_backend
from prsynth.outputs.export import FORMATS, write_records
from prsynth.outputs.report import build_report, write_report
from prsynth.progress import Progress, quiet
from prsynth.selection.methods import SelectionError
from prsynth.selection.records import stored_selection
from prsynth.selection.run import select_queries
from prsynth.sources.base import CrawlReport
from prsynth.stages.registry import bring_up_to_date
from prsynth.stages.synth import SynthOptions, synthesize
from prsynth.store import Store

EXPORTS = ("selected", "queries", "prs")
Say = Callable[[str], None]


@dataclass
class RunSummary:
    """What one scheduled run did, a line per step, and the problems that make it partial."""

    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    crawl: list[CrawlReport] = field(default_factory=list)
    written: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"steps": self.lines, "problems": self.problems,
                "crawl": [r.to_dict() for r in self.crawl], "written": self.written}

    def outcome(self) -> PrsynthError | None:
        if not self.problems:
            return None
        return PartialFailure("; ".join(self.problems) + "; the rest is stored, re-run to continue")


def out_dir(config: Config, store_path: str | Path) -> Path:
    """Where `prsynth run` writes: `[run] out_dir`, else prsynth-out/ next to the store."""
    if config.run.out_dir:
        return Path(config.run.out_dir)
    return Path(store_path).resolve().parent / "prsynth-out"


def check_run_config(config: Config) -> None:
    """Refuse `[run]` settings that cannot work, before anything runs."""
    unknown = [name for name in config.run.exports if name not in EXPORTS]
    if unknown:
        raise ConfigError(
            f"config key 'run.exports' has {', '.join(map(repr, unknown))}; use any of "
            f"{', '.join(EXPORTS)}"
        )
    if config.run.format not in FORMATS:
        raise ConfigError(f"config key 'run.format' must be one of {', '.join(FORMATS)}")


def run_pipeline(
    store: Store, config: Config, *, say: Say = lambda line: None, progress: Progress = quiet,
    max_requests: int = 0,
) -> RunSummary:
    """Bring everything in `store` up to date with `config`; see the module docstring."""
    check_run_config(config)
    summary = RunSummary()

    def note(line: str) -> None:
        summary.lines.append(line)
        say(line)

    if config.sources:
        jobs = planned_jobs(config, max_requests=max_requests, notify=say)
        summary.crawl = crawl_all(store, jobs, on_report=lambda r: note(r.summary()),
                                  progress=progress)
        if (error := crawl_outcome(summary.crawl)) is not None:
            summary.problems.append(f"crawl: {error}")
    else:
        note("crawl: no [[sources]] in the config; nothing crawled")
    if config.run.synth and store.count_prs():
        backend = make_backend(config.llm)
        report = synthesize(store, backend, SynthOptions(
            prompt=config.run.prompt, concurrency=config.llm.concurrency,
            max_cost=config.llm.max_cost or None), progress)
        note(f"synth: {report.summary()}")
        if report.failed or report.not_started:
            summary.problems.append(
                f"synth: {len(report.failed)} PRs failed, {report.not_started} not started")
    if not store.count_queries():
        note("nothing to select yet: the store has no queries")
        return summary
    ran = bring_up_to_date(store, config, progress)
    note(f"stages: {'ran ' + ', '.join(ran) if ran else 'all up to date'}")
    if config.run.select:
        try:
            result = select_queries(store, config, name=config.run.selection_name,
                                    progress=progress)
        except SelectionError as exc:  # e.g. fewer candidates than k while a crawl grows
            note(f"select: not run yet ({exc})")
        else:
            note(f"select: {len(result.records)} of {result.summary['candidates']} "
                 f"candidates as {result.name!r}, mean quality "
                 f"{result.summary['mean_quality']:.3f}")
    _write_outputs(store, config, summary, note)
    return summary


def _write_outputs(store: Store, config: Config, summary: RunSummary, note: Say) -> None:
    folder = out_dir(config, store.path)
    folder.mkdir(parents=True, exist_ok=True)
    fmt = config.run.format
    for name in config.run.exports:
        path = folder / f"{name}.{fmt}"
        if name == "selected":
            if store.find_selection(config.run.selection_name) is None:
                continue
            _, records = stored_selection(store, config.run.selection_name)
        elif name == "queries":
            records = [query.to_dict() for query in store.iter_queries()]
        else:
            records = [pr.to_dict() for pr in store.iter_prs()]
        write_records(records, path, fmt)
        summary.written.append(str(path))
    if config.run.report and store.latest_selection() is not None:
        path = write_report(build_report(store, config), folder / "report.html")
        summary.written.append(str(path))
    if summary.written:
        note(f"wrote {', '.join(summary.written)}")
