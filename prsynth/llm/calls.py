"""Running many LLM calls: response cache, spending cap, concurrency and the call log.

Workers only talk to the model; everything that touches the store (cache lookups and
writes, the call log) happens on the caller's thread, so a SQLite connection is never
shared across threads and every finished answer is stored before the next one is read.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from prsynth.llm.backend import (
    Budget,
    Check,
    Completion,
    ContextTooLong,
    LLMBackend,
    LLMCallError,
    LLMError,
)
from prsynth.llm.context import CONTEXT_MARGIN, PromptLimit, Refusal
from prsynth.llm.prompts import Template, estimate_tokens
from prsynth.progress import Progress, quiet
from prsynth.store import Store
from prsynth.store.llm import CachedResponse, CallRecord
from prsynth.text.redact import redact

log = logging.getLogger(__name__)


@dataclass
class LLMCall:
    """One request: which item it is for, the template and the rendered messages."""

    item: str
    template: Template
    messages: list[dict[str, str]]
    context: dict[str, Any] = field(default_factory=dict, repr=False)
    check: Check | None = None
    # Re-renders the prompt under a smaller limit, after a context-length refusal.
    shrink: Callable[[PromptLimit], list[dict[str, str]]] | None = field(default=None,
                                                                          repr=False)
    limit: PromptLimit | None = field(default=None, repr=False)  # what it was rendered for

    def cache_key(self, model: str) -> str:
        """sha256 of everything that determines the answer: model, messages, parameters."""
        digest = hashlib.sha256(_parameters(self.template, model))
        digest.update(json.dumps(self.messages, ensure_ascii=False, separators=(",", ":"),
                                 sort_keys=True).encode("utf-8"))
        return digest.hexdigest()

    @property
    def estimated_tokens_in(self) -> int:
        return sum(estimate_tokens(m["content"]) for m in self.messages) + 4 * len(self.messages)


@functools.lru_cache(maxsize=64)
def _parameters(template: Template, model: str) -> bytes:
    """The canonical JSON of a call's parameters (the same for every call of a template)."""
    return json.dumps(
        {"model": model, "temperature": template.temperature, "max_tokens": template.max_tokens,
         "schema": template.schema}, sort_keys=True, separators=(",", ":"),
    ).encode("utf-8")


@dataclass
class CallOutcome:
    """A call's answer, or why there is none (reason: invalid_answer, timeout, max_cost ...)."""

    call: LLMCall
    completion: Completion | None = None
    reason: str = ""
    error: str = ""


@dataclass
class CallTotals:
    """What the calls of one run made and spent (cache hits cost nothing)."""

    calls: int = 0
    cached: int = 0
    failed: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0


def run_calls(
    store: Store, backend: LLMBackend, calls: Iterable[LLMCall], *, concurrency: int = 8,
    budget: Budget | None = None, totals: CallTotals | None = None,
    progress: Progress = quiet, total: int = 0, step: str = "llm",
) -> Iterator[list[CallOutcome]]:
    """Answer every call: from the cache when possible, else from `backend`, at most
    `concurrency` at a time. Outcomes come in batches as they finish (not in input order);
    each batch's cache entries and call log rows are written in one transaction, which
    keeps the store (and the GIL) out of the way of the calls in flight."""
    totals = totals if totals is not None else CallTotals()
    budget = budget or Budget()
    counter = _Counter(progress, total, step)
    if not backend.remote:
        for chunk in _chunks(calls, BATCH):
            yield counter.count([_offline(backend, call, totals) for call in chunk])
        return
    pool = ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="llm")
    pending: dict[Future[Completion], tuple[LLMCall, str]] = {}
    window = max(1, concurrency) * 4
    try:
        for chunk in _chunks(calls, BATCH):
            keys = [call.cache_key(backend.model) for call in chunk]
            cached = store.cached_responses(keys)
            hits = []
            for call, key in zip(chunk, keys, strict=True):
                answer = cached.get(key)
                if answer is not None:
                    totals.cached += 1
                    hits.append(CallOutcome(call, from_cache(answer)))
                    continue
                while len(pending) >= window:
                    yield from _batch(store, backend, pending, totals, counter)
                future = pool.submit(complete_call, backend, call, budget)
                pending[future] = (call, key)
            if hits:
                yield counter.count(hits)
        while pending:
            yield from _batch(store, backend, pending, totals, counter)
    finally:
        _drain(store, backend, pending, totals)
        pool.shutdown(wait=False, cancel_futures=True)


BATCH = 64


def from_cache(answer: CachedResponse) -> Completion:
    """A cached answer as a completion (what it cost when it was made)."""
    return Completion(data=answer.data, model=answer.model, tokens_in=answer.tokens_in,
                      tokens_out=answer.tokens_out, cost_usd=answer.cost_usd, cached=True)


def complete_call(backend: LLMBackend, call: LLMCall, budget: Budget | None = None) -> Completion:
    """`backend.complete` for `call`; after a context-length refusal, once more with the
    prompt re-rendered to fit what the server reported (the log row notes it)."""
    def complete(messages: list[dict[str, str]]) -> Completion:
        return backend.complete(
            messages, call.template.schema, temperature=call.template.temperature,
            max_tokens=call.template.max_tokens, check=call.check, budget=budget,
            context=call.context)

    try:
        return complete(call.messages)
    except ContextTooLong as refused:
        if call.shrink is None:
            raise
        limit = smaller_limit(call.messages, refused.refusal, call.template.max_tokens,
                              call.limit)
        try:
            completion = complete(call.shrink(limit))
        except LLMCallError as again:
            again.tokens_in += refused.tokens_in
            again.attempts += refused.attempts
            raise
        said = f"{refused.refusal.window}-token context" if refused.refusal.window else (
            "the server's context")
        completion.note = f"prompt shrunk to fit {said} after a refusal"
        completion.attempts += refused.attempts
        return completion


def smaller_limit(messages: list[dict[str, str]], refusal: Refusal, max_tokens: int,
                  current: PromptLimit | None) -> PromptLimit:
    """A limit, in the estimate's units, that the refused prompt would have met: the
    server's window less the answer, scaled by how far the estimate fell short of the
    server's own count; a quarter less than the refused prompt when it said neither."""
    base = current or PromptLimit(10**9)
    estimated = base.messages_tokens(messages)
    if not refusal.window:
        return PromptLimit(max(estimated * 3 // 4, 1), base.count)
    shortfall = max((refusal.prompt_tokens or 0) / max(estimated, 1), 1.0)
    room = refusal.window - max_tokens - CONTEXT_MARGIN
    return PromptLimit(max(int(room / shortfall * 0.95), 1), base.count)


def store_outcomes(
    store: Store, outcomes: Iterator[list[CallOutcome]], stage: str,
    store_one: Callable[[CallOutcome], str | None], totals: CallTotals, report: Any,
) -> None:
    """Store each batch of `run_calls` outcomes in one transaction, then put the run's
    calls, tokens and cost on `report` (also when interrupted).

    `store_one` stores one outcome and returns its item when it was stored, so an
    earlier drop of that item at `stage` is cleared in the same transaction.
    """
    try:
        for batch in outcomes:
            with store.transaction():
                stored = [store_one(outcome) for outcome in batch]
                store.clear_drops(stage, [item for item in stored if item])
    finally:
        outcomes.close()
        report.calls, report.tokens_in, report.tokens_out = (
            totals.calls, totals.tokens_in, totals.tokens_out)
        report.cost_usd = round(totals.cost_usd, 6)


def _drain(store: Store, backend: LLMBackend,
           pending: dict[Future[Completion], tuple[LLMCall, str]], totals: CallTotals) -> None:
    """When a run stops early: cancel what has not started, and cache the answers of the
    calls already in flight (they finish anyway), so the next run does not pay again."""
    running = [f for f in pending if not f.cancel()]
    if not running:
        return
    try:
        wait(running)
    except KeyboardInterrupt:
        return  # a second Ctrl-C: leave now
    for future in list(pending):
        if future not in running:
            pending.pop(future)
    while pending:
        _collect(store, backend, pending, totals)


def _chunks(calls: Iterable[LLMCall], size: int) -> Iterator[list[LLMCall]]:
    chunk: list[LLMCall] = []
    for call in calls:
        chunk.append(call)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


@dataclass
class _Counter:
    progress: Progress
    total: int
    step: str
    done: int = 0

    def count(self, outcomes: list[CallOutcome]) -> list[CallOutcome]:
        self.done += len(outcomes)
        self.progress(self.step, self.done, self.total)
        return outcomes


def _batch(
    store: Store, backend: LLMBackend, pending: dict[Future[Completion], tuple[LLMCall, str]],
    totals: CallTotals, counter: _Counter,
) -> Iterator[list[CallOutcome]]:
    """The next batch of finished calls; an error that stops the run is raised only after
    the caller has stored the answers that finished with it."""
    outcomes, fatal = _collect(store, backend, pending, totals)
    yield counter.count(outcomes)
    if fatal is not None:
        raise fatal


def _collect(
    store: Store, backend: LLMBackend, pending: dict[Future[Completion], tuple[LLMCall, str]],
    totals: CallTotals,
) -> tuple[list[CallOutcome], LLMError | None]:
    """Wait for at least one call to finish; cache and log everything finished. Returns
    the outcomes and the error that stops the run, if one came back."""
    finished, _ = wait(list(pending), return_when=FIRST_COMPLETED)
    outcomes = []
    answers: list[tuple[str, str, CachedResponse]] = []
    log: list[CallRecord] = []
    fatal: LLMError | None = None
    for future in finished:
        call, key = pending.pop(future)
        try:
            completion = future.result()
        except LLMCallError as exc:
            outcomes.append(_failed(backend, call, exc, totals, log))
            continue
        except LLMError as exc:
            fatal = exc  # stop the run, but keep what this batch finished
            continue
        totals.calls += 1
        totals.tokens_in += completion.tokens_in
        totals.tokens_out += completion.tokens_out
        totals.cost_usd += completion.cost_usd
        answers.append((key, call.template.id, CachedResponse(
            completion.data, completion.model, completion.tokens_in, completion.tokens_out,
            completion.cost_usd)))
        log.append(CallRecord(
            template=call.template.id, model=completion.model, item=call.item,
            tokens_in=completion.tokens_in, tokens_out=completion.tokens_out,
            latency_s=round(completion.latency_s, 4), cost_usd=completion.cost_usd,
            attempts=completion.attempts, note=completion.note))
        outcomes.append(CallOutcome(call, completion))
    with store.transaction():
        store.cache_responses(answers)
        store.log_llm_calls(log)
    return outcomes, fatal


def _failed(backend: LLMBackend, call: LLMCall, exc: LLMCallError, totals: CallTotals,
            log: list[CallRecord]) -> CallOutcome:
    error = redact(str(exc))
    if exc.reason != "max_cost" or exc.attempts > 0:
        totals.calls += 1
        totals.failed += 1
        totals.tokens_in += exc.tokens_in
        totals.tokens_out += exc.tokens_out
        totals.cost_usd += exc.cost_usd
        log.append(CallRecord(
            template=call.template.id, model=backend.model, item=call.item,
            tokens_in=exc.tokens_in, tokens_out=exc.tokens_out, cost_usd=exc.cost_usd,
            attempts=exc.attempts, status="failed", error=error))
    return CallOutcome(call, None, exc.reason, error)


def _offline(backend: LLMBackend, call: LLMCall, totals: CallTotals) -> CallOutcome:
    try:
        completion = complete_call(backend, call)
    except LLMCallError as exc:
        totals.failed += 1
        return CallOutcome(call, None, exc.reason, redact(str(exc)))
    return CallOutcome(call, completion)
