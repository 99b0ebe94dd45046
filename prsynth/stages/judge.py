"""The LLM judge: rate every query not yet judged against its PR with the `judge` template.

Calls go through the same cache, spending cap and call log as synth; ratings (1-10 with
a one-line reason) are stored per (query, template@version, model) together with a hash
of the query text, so an edited query is judged again and an unchanged one never is.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from prsynth.llm.backend import Budget, LLMBackend, check_cap_is_enforceable
from prsynth.llm.batch import run_batch
from prsynth.llm.calls import CallOutcome, CallTotals, LLMCall, run_calls, store_outcomes
from prsynth.llm.prompts import TemplateError, load_template, render_pr, rerender
from prsynth.progress import Progress, quiet
from prsynth.store import Store, text_hash
from prsynth.text.personal import strip_personal_data, without_personal_data
from prsynth.text.redact import redact, redact_pr


@dataclass
class JudgeReport:
    prompt: str
    model: str
    queries: int = 0
    already_judged: int = 0
    judged: int = 0
    from_cache: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    not_started: int = 0
    calls: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0

    def summary(self) -> str:
        text = (f"judged {self.judged} queries with {self.prompt} on {self.model} "
                f"({self.from_cache} from the cache, {self.already_judged} already judged); "
                f"{self.calls} calls, ${self.cost_usd:.4f}")
        if self.failed:
            text += f"; {len(self.failed)} failed"
        if self.not_started:
            text += f"; {self.not_started} not started to stay under --max-cost"
        return text

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _store_outcome(store: Store, prompt: str, model: str, outcome: CallOutcome,
                   report: JudgeReport) -> str | None:
    call = outcome.call
    if outcome.completion is None:
        if outcome.reason == "max_cost":
            report.not_started += 1
            return None
        report.failed[call.item] = f"{outcome.reason}: {outcome.error}"
        store.record_drop("judge", call.item, outcome.reason, detail=outcome.error[:500])
        return None
    data = outcome.completion.data
    rating, reason = rubric_judgement(data)
    store.put_judgement(call.item, call.context["hash"], prompt, model, rating, reason)
    report.judged += 1
    report.from_cache += int(outcome.completion.cached)
    return call.item


RUBRIC = ("realism", "specificity", "agreement", "verifiability", "leakage")


def rubric_judgement(data: dict[str, Any]) -> tuple[int, str]:
    """(rating 1-10, stored reason) of a judge answer. With the rubric's 1-5 scores the
    rating is their mean mapped onto 1-10 and the reason leads with them, so the stored
    line says which criterion pulled the rating down."""
    reason = " ".join(strip_personal_data(redact(str(data.get("reason", "")))).split())
    scores = {name: int(data[name]) for name in RUBRIC if isinstance(data.get(name), int)}
    if len(scores) < len(RUBRIC):
        return int(data["rating"]), reason[:300]
    mean = sum(scores.values()) / len(scores)
    rating = max(1, min(10, round(1 + 9 * (mean - 1) / 4)))
    rubric = ", ".join(f"{name} {value}" for name, value in scores.items())
    return rating, f"{rubric}: {reason}"[:300]


def judge_queries(
    store: Store, backend: LLMBackend, *, max_cost: float | None = None, concurrency: int = 8,
    prompt: str = "judge", limit: int | None = None, progress: Progress = quiet,
    batch: bool = False,
) -> JudgeReport:
    """Rate every query that this template and model have not rated in its current text."""
    template = load_template(prompt)
    if "rating" not in template.schema.get("properties", {}):
        raise TemplateError(f"prompt template {template.path}: its schema has no `rating` field")
    report = JudgeReport(prompt=template.id, model=backend.model)
    judged = store.judged_hashes(template.id, backend.model)
    calls: list[LLMCall] = []
    for query in store.iter_queries():
        report.queries += 1
        if judged.get(query.id) == text_hash(query.query):
            report.already_judged += 1
            continue
        if limit is not None and len(calls) >= limit:
            continue
        pr = store.get_pr(query.pr_id)
        if pr is None:
            report.failed[query.id] = "missing_pr: its PR is not in the store"
            continue
        clean = without_personal_data(redact_pr(pr))
        extra = {"query": strip_personal_data(redact(query.query)),
                 "leakage": query.fields.get("leakage", 0.0)}
        fit = backend.prompt_limit(template.max_tokens)
        rendered = render_pr(template, clean, limit=fit, **extra)
        calls.append(LLMCall(query.id, template, rendered.messages,
                             {**rendered.variables, "hash": text_hash(query.query)},
                             shrink=rerender(template, clean, extra), limit=fit))
    if calls:
        backend.check_ready()
        check_cap_is_enforceable(backend, max_cost)
    totals = CallTotals()
    if batch:
        outcomes = run_batch(store, backend, calls, totals=totals, progress=progress,
                             max_cost=max_cost, step="judge")
    else:
        outcomes = run_calls(store, backend, calls, concurrency=concurrency,
                             budget=Budget(max_cost), totals=totals, progress=progress,
                             total=len(calls), step="judge")
    store_outcomes(
        store, outcomes, "judge",
        lambda outcome: _store_outcome(store, template.id, backend.model, outcome, report),
        totals, report,
    )
    return report
