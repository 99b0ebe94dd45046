"""The OpenAI Batch API: the calls of a run as one JSONL file, answered within a day at
half the price (docs/architecture.md "LLM layer").

`run_batch` yields outcomes like `calls.run_calls`, so synth and judge store them the
same way. Each submitted batch is recorded in the store before polling starts, so a run
killed while waiting resumes that batch instead of submitting again. Answers that fail
validation are asked again in a follow-up batch (the conversation plus the reason), up
to the backend's `max_reasks` rounds.
"""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from prsynth.errors import ConfigError
from prsynth.llm.backend import (
    Completion,
    LLMBackend,
    LLMError,
    answer_validator,
    reask,
    validate_answer,
    worst_case_tokens,
)
from prsynth.llm.calls import CallOutcome, CallTotals, LLMCall, from_cache
from prsynth.progress import Progress, quiet
from prsynth.store import Store
from prsynth.store.llm import CachedResponse, CallRecord
from prsynth.text.redact import redact

log = logging.getLogger(__name__)

ENDPOINT = "/v1/chat/completions"
FINISHED = {"completed", "failed", "expired", "cancelled"}


def run_batch(
    store: Store, backend: LLMBackend, calls: Iterable[LLMCall], *, totals: CallTotals,
    progress: Progress = quiet, max_cost: float | None = None, step: str = "batch",
) -> Iterator[list[CallOutcome]]:
    """Answer `calls` through the Batch API: cached answers first, then one batch (or the
    one an earlier run left open), then follow-up batches for invalid answers. With
    `max_cost`, a batch whose worst case (every prompt byte a token, every answer at
    `max_tokens`) could exceed it is not submitted."""
    if not backend.remote or not hasattr(backend, "client"):
        raise ConfigError("--batch needs --llm openai (the OpenAI Batch API)")
    by_key: dict[str, LLMCall] = {}
    for call in calls:
        by_key.setdefault(call.cache_key(backend.model), call)
    if not by_key:
        return
    cached = store.cached_responses(list(by_key))
    hits = [CallOutcome(call, from_cache(a))
            for key, call in by_key.items() if (a := cached.get(key)) is not None]
    totals.cached += len(hits)
    if hits:
        yield hits
    pending = {key: list(call.messages) for key, call in by_key.items() if key not in cached}
    template = next(iter(by_key.values())).template
    scope = f"{template.id}/{backend.model}"
    for round_ in range(backend.max_reasks + 1):
        if not pending:
            return
        open_batches = [(bid, keys) for bid, keys in store.open_batches(scope)
                        if set(keys) & set(pending)]
        if open_batches:
            batch_id, keys = open_batches[0]
            log.info("resuming batch %s (%d requests)", batch_id, len(keys))
        else:
            keys = list(pending)
            _check_cost(backend, [(pending[k], by_key[k]) for k in keys], max_cost)
            batch_id = _submit(backend, [(k, pending[k], by_key[k]) for k in keys])
            store.put_batch(batch_id, scope, keys)
        results, status = _wait(backend, batch_id, len(keys), progress, step)
        last = round_ == backend.max_reasks
        outcomes, again = _collect(store, backend, batch_id, by_key, pending, keys, results,
                                   totals, last)
        store.finish_batch(batch_id, status)
        for key in keys:
            pending.pop(key, None)
        pending.update(again)
        yield outcomes


def _check_cost(backend: LLMBackend, requests: list[tuple[list[dict[str, str]], LLMCall]],
                max_cost: float | None) -> None:
    if not max_cost:
        return
    worst = sum(backend.batch_cost(worst_case_tokens(messages), call.template.max_tokens)
                for messages, call in requests)
    if worst > max_cost:
        raise ConfigError(
            f"a batch of {len(requests)} requests could cost up to ${worst:.2f} at batch "
            f"prices, over --max-cost ${max_cost:g}; submit fewer with --limit, or raise the cap")


def _submit(backend: Any, requests: list[tuple[str, list[dict[str, str]], LLMCall]]) -> str:
    """Upload the JSONL and create the batch; its id."""
    from prsynth.llm.openai_chat import response_format

    lines = []
    for key, messages, call in requests:
        body = {"model": backend.model, "messages": messages,
                "temperature": call.template.temperature,
                "max_tokens": call.template.max_tokens,
                "response_format": response_format("json_schema", call.template.schema)}
        lines.append(json.dumps({"custom_id": key, "method": "POST", "url": ENDPOINT,
                                 "body": body}, ensure_ascii=False))
    data = ("\n".join(lines) + "\n").encode("utf-8")
    client = backend.client()
    uploaded = _api(backend, lambda: client.files.create(
        file=("prsynth-batch.jsonl", io.BytesIO(data)), purpose="batch"))
    batch = _api(backend, lambda: client.batches.create(
        input_file_id=uploaded.id, endpoint=ENDPOINT, completion_window="24h",
        metadata={"created_by": "prsynth"}))
    log.info("submitted batch %s: %d requests", batch.id, len(requests))
    return str(batch.id)


def _wait(backend: Any, batch_id: str, total: int, progress: Progress, step: str
          ) -> tuple[dict[str, dict[str, Any]], str]:
    """Poll until the batch ends; its results by custom_id and its final status."""
    client = backend.client()
    while True:
        batch = _api(backend, lambda: client.batches.retrieve(batch_id))
        counts = batch.request_counts
        if counts is not None:
            progress(f"{step} batch {batch_id}", int(counts.completed or 0)
                     + int(counts.failed or 0), total)
        if batch.status in FINISHED:
            break
        time.sleep(backend.batch_poll)
    results: dict[str, dict[str, Any]] = {}
    for file_id in (batch.output_file_id, batch.error_file_id):
        if not file_id:
            continue
        text = _api(backend, lambda fid=file_id: client.files.content(fid)).text
        for line in text.splitlines():
            if line.strip():
                row = json.loads(line)
                results[row.get("custom_id", "")] = row
    return results, str(batch.status)


def _collect(
    store: Store, backend: Any, batch_id: str, by_key: dict[str, LLMCall],
    pending: dict[str, list[dict[str, str]]], keys: list[str],
    results: dict[str, dict[str, Any]], totals: CallTotals, last: bool,
) -> tuple[list[CallOutcome], dict[str, list[dict[str, str]]]]:
    """Validate each answer of a finished batch: store the valid ones (cache and call
    log), return the conversations to ask again."""
    outcomes: list[CallOutcome] = []
    again: dict[str, list[dict[str, str]]] = {}
    answers: list[tuple[str, str, CachedResponse]] = []
    rows: list[CallRecord] = []
    for key in keys:
        if key not in pending:
            continue  # answered since (another run): nothing to do
        call = by_key[key]
        row = results.get(key) or {}
        body = (row.get("response") or {}).get("body") or {}
        usage = body.get("usage") or {}
        tokens_in, tokens_out = int(usage.get("prompt_tokens", 0)), int(
            usage.get("completion_tokens", 0))
        cost = backend.batch_cost(tokens_in, tokens_out)
        totals.calls += 1
        totals.tokens_in += tokens_in
        totals.tokens_out += tokens_out
        totals.cost_usd += cost
        choices = body.get("choices") or []
        content = ((choices[0].get("message") or {}).get("content") or "") if choices else ""
        if not choices:
            problem = redact(str(row.get("error") or "no answer in the batch output"))[:300]
            data = None
        else:
            data, problem = validate_answer(content, answer_validator(call.template.schema))
            if data is not None and call.check is not None and (why := call.check(data)):
                data, problem = None, why
        note = f"batch {batch_id}"
        if data is not None:
            completion = Completion(data=data, model=backend.model, tokens_in=tokens_in,
                                    tokens_out=tokens_out, cost_usd=cost,
                                    response_format="batch", note=note)
            answers.append((key, call.template.id, CachedResponse(
                data, backend.model, tokens_in, tokens_out, cost)))
            rows.append(CallRecord(template=call.template.id, model=backend.model,
                                   item=call.item, tokens_in=tokens_in, tokens_out=tokens_out,
                                   cost_usd=cost, note=note))
            outcomes.append(CallOutcome(call, completion))
            continue
        rows.append(CallRecord(template=call.template.id, model=backend.model, item=call.item,
                               tokens_in=tokens_in, tokens_out=tokens_out, cost_usd=cost,
                               status="failed", error=problem, note=note))
        if last or not choices:
            totals.failed += 1
            reason = "invalid_answer" if choices else "batch_error"
            outcomes.append(CallOutcome(call, None, reason, problem))
        else:
            again[key] = reask(pending[key], content, problem)
    with store.transaction():
        store.cache_responses(answers)
        store.log_llm_calls(rows)
    return outcomes, again


def _api(backend: Any, request: Callable[[], Any]) -> Any:
    """One Files/Batches request, with one clear line when the server cannot do it."""
    import openai

    try:
        return request()
    except openai.NotFoundError:
        raise LLMError(
            f"the LLM server at {backend.url} has no Batch API (HTTP 404 on /files or "
            "/batches); run without --batch") from None
    except (openai.APIStatusError, openai.APIConnectionError) as exc:
        raise LLMError(f"Batch API request to {backend.url} failed ({exc}); re-run the same "
                       "command to resume: a submitted batch is kept in the store") from None
