"""PR → request: redact secrets, render the prompt, call the LLM, validate, measure
leakage, store. Re-running synthesizes only what is missing and pays for nothing twice."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from prsynth.errors import MissingStageError
from prsynth.llm.backend import OFFLINE_MODEL, Budget, Check, LLMBackend, check_cap_is_enforceable
from prsynth.llm.batch import run_batch
from prsynth.llm.calls import CallOutcome, CallTotals, LLMCall, run_calls, store_outcomes
from prsynth.llm.personas import LENGTHS, PERSONAS, pick_variation
from prsynth.llm.prompts import TemplateError, load_template, render_pr, rerender
from prsynth.progress import Progress, quiet
from prsynth.records import PullRequest, Query, check_repo_name
from prsynth.store import Store, utcnow
from prsynth.text.diffs import HUNK_HEADER
from prsynth.text.injection import is_instruction
from prsynth.text.leakage import solution_leakage
from prsynth.text.personal import strip_personal_data, without_personal_data
from prsynth.text.redact import redact, redact_pr

log = logging.getLogger(__name__)


@dataclass
class SynthOptions:
    prompt: str = "vibe_request"
    limit: int | None = None  # at most this many PRs (of those without a query) this run
    repo: str | None = None
    concurrency: int = 8
    dry_run: bool = False
    max_cost: float | None = None
    redo: bool = False  # re-make queries that exist (answers still come from the cache)
    batch: bool = False  # through the OpenAI Batch API (half price, within a day)


@dataclass
class SynthReport:
    prompt: str
    model: str
    prs: int = 0  # PRs in scope (after --repo)
    existing: int = 0  # already had a query from this prompt and model
    todo: int = 0
    synthesized: int = 0
    from_cache: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)  # PR id → reason: detail
    not_started: int = 0  # left out to stay under --max-cost
    calls: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    batch_cost_usd: float = 0.0  # a dry run: the same calls at Batch API prices
    dry_run: bool = False
    price_known: bool = True

    def summary(self) -> str:
        if self.dry_run:
            cost = (f"${self.cost_usd:.4f} (${self.batch_cost_usd:.4f} at Batch API prices)"
                    if self.price_known else "unknown (no price for model)")
            return (
                f"dry run with {self.prompt} on {self.model}: {self.calls} calls to make "
                f"({self.from_cache} answers already cached), ~{self.tokens_in} tokens in, "
                f"at most {self.tokens_out} tokens out, estimated cost {cost} (answers "
                "counted at their maximum length); nothing was sent"
            )
        parts = [
            f"synthesized {self.synthesized} queries with {self.prompt} on {self.model}"
            f" ({self.from_cache} from the cache)",
            f"{self.existing} already there",
        ]
        if self.model != OFFLINE_MODEL:  # the baseline makes no calls and costs nothing
            parts.append(f"{self.calls} calls, {self.tokens_in} tokens in, "
                         f"{self.tokens_out} out, ${self.cost_usd:.4f}")
        if self.skipped:
            parts.append("skipped " + ", ".join(f"{r} {n}" for r, n in self.skipped.items()))
        if self.failed:
            parts.append(f"{len(self.failed)} failed (see `prsynth stats`)")
        if self.not_started:
            parts.append(f"{self.not_started} not started to stay under --max-cost")
        return "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def synthesize(
    store: Store, backend: LLMBackend, options: SynthOptions, progress: Progress = quiet
) -> SynthReport:
    """Make one query per PR with `options.prompt` for every PR that lacks one."""
    template = load_template(options.prompt)
    if "query" not in template.schema.get("properties", {}):
        raise TemplateError(
            f"prompt template {template.path}: its schema has no `query` field, so synth "
            "cannot use it (a judge template rates queries; it does not write them)"
        )
    repo = check_repo_name(options.repo) if options.repo else None
    report = SynthReport(prompt=template.id, model=backend.model, dry_run=options.dry_run)
    if store.count_prs() == 0:
        raise MissingStageError(
            f"store {store.path} has no PRs; run `prsynth crawl` (or `prsynth crawl import`) first"
        )
    existing = set() if options.redo else store.query_ids_for(template.id, backend.model)
    todo: list[PullRequest] = []
    not_tasks = store.task_dropped_pr_ids()
    for pr in store.iter_prs(repo):
        report.prs += 1
        if pr.id in not_tasks:  # stored before the crawl filters dropped it
            report.skipped["not_a_task"] = report.skipped.get("not_a_task", 0) + 1
        elif pr.id in existing:
            report.existing += 1
        elif options.limit is None or len(todo) < options.limit:
            todo.append(pr)
    prs: dict[str, PullRequest] = {}

    def calls() -> Iterator[LLMCall]:
        # Rendered lazily, so the first requests go out while later prompts are rendered.
        for pr in todo:
            clean = without_personal_data(redact_pr(pr))
            why = unusable(clean)
            if why:
                report.skipped[why] = report.skipped.get(why, 0) + 1
                if not options.dry_run:
                    store.record_drop("synth", pr.id, why, repo=pr.repo)
                continue
            persona, length = pick_variation(pr.id, pr.additions + pr.deletions)
            extra = {"persona": persona, "length": length, "persona_text": PERSONAS[persona],
                     "length_text": LENGTHS[length]}
            fit = backend.prompt_limit(template.max_tokens)
            rendered = render_pr(template, clean, limit=fit, **extra)
            prs[pr.id] = clean
            report.todo += 1
            yield LLMCall(pr.id, template, rendered.messages, rendered.variables,
                          query_check(clean), shrink=rerender(template, clean, extra), limit=fit)

    if options.dry_run:
        return _estimate(store, backend, calls(), report)
    if todo:
        backend.check_ready()
    check_cap_is_enforceable(backend, options.max_cost)
    totals = CallTotals()
    budget = Budget(options.max_cost)
    if options.batch:
        outcomes = run_batch(store, backend, calls(), totals=totals, progress=progress,
                             max_cost=options.max_cost, step="synth")
    else:
        outcomes = run_calls(store, backend, calls(), concurrency=options.concurrency,
                             budget=budget, totals=totals, progress=progress, total=len(todo),
                             step="synth")
    store_outcomes(
        store, outcomes, "synth",
        lambda outcome: _store_outcome(store, template.name, backend.model, prs, outcome,
                                       report),
        totals, report,
    )
    report.skipped = dict(sorted(report.skipped.items()))
    return report


def _store_outcome(store: Store, template: str, model: str, prs: dict[str, PullRequest],
                   outcome: CallOutcome, report: SynthReport) -> str | None:
    """Store a query, or record why there is none; return the PR id when stored."""
    pr = prs[outcome.call.item]
    if outcome.completion is None:
        if outcome.reason == "max_cost":
            report.not_started += 1
            return None
        report.failed[pr.id] = f"{outcome.reason}: {outcome.error}"
        store.record_drop("synth", pr.id, outcome.reason, repo=pr.repo,
                          detail=outcome.error[:500])
        return None
    completion = outcome.completion
    text = strip_personal_data(redact(str(completion.data["query"]).strip()))
    leakage, leaked = solution_leakage(text, pr.diff, problem_text(pr))
    fields = {k: v for k, v in completion.data.items() if k != "query"}
    fields.update(leakage=leakage, leaked=leaked, persona=outcome.call.context["persona"],
                  length=outcome.call.context["length"])
    store.put_query(Query(
        id=f"{pr.id}/{template}/{model}", pr_id=pr.id, query=text,
        prompt=outcome.call.template.id, model=completion.model, created_at=utcnow(),
        tokens_in=completion.tokens_in, tokens_out=completion.tokens_out,
        cost_usd=round(completion.cost_usd, 8), fields=fields,
    ))
    report.synthesized += 1
    report.from_cache += int(completion.cached)
    return pr.id


def _estimate(store: Store, backend: LLMBackend, calls: Iterable[LLMCall],
              report: SynthReport) -> SynthReport:
    """What a run would send: calls not answered by the cache, tokens and cost."""
    for call in calls:
        if backend.remote and store.cached_response(call.cache_key(backend.model)):
            report.from_cache += 1
            continue
        report.calls += 1 if backend.remote else 0
        report.tokens_in += call.estimated_tokens_in if backend.remote else 0
        report.tokens_out += call.template.max_tokens if backend.remote else 0
    report.cost_usd = round(backend.cost(report.tokens_in, report.tokens_out), 6)
    report.batch_cost_usd = round(backend.batch_cost(report.tokens_in, report.tokens_out), 6)
    report.price_known = not backend.remote or getattr(backend, "price", None) is not None
    return report


def problem_text(pr: PullRequest) -> str:
    """What the PR says about the problem: its title, description and linked issues."""
    issues = " ".join(f"{i.get('title', '')} {i.get('body', '')}" for i in pr.linked_issues)
    return f"{pr.title} {pr.body} {issues}"


def unusable(pr: PullRequest) -> str:
    """Why a PR cannot become a request ("" when it can)."""
    has_text_diff = bool(HUNK_HEADER.search(pr.diff or ""))
    has_prose = bool((pr.body or "").strip()) or any(
        (i.get("body") or i.get("title")) for i in pr.linked_issues)
    if not has_text_diff and not has_prose:
        return "no_text" if pr.diff else "empty_diff"
    return ""


def query_check(pr: PullRequest) -> Check:
    """Reject answers that repeat instruction-like lines of the PR text (prompt injection)."""
    injected = [line.strip() for line in (pr.body or "").splitlines() if is_instruction(line)]
    markers = [line for line in injected if len(line) >= 12]

    def check(data: dict[str, Any]) -> str | None:
        text = str(data.get("query", ""))
        if not text.strip():
            return "the query is empty"
        if any(marker.lower() in text.lower() for marker in markers) or is_instruction(text):
            return "the query repeats instructions found in the PR text instead of a request"
        return None

    return check
