"""`OpenAIChat`: any OpenAI-compatible Chat Completions server through the official client.

It asks for `response_format` json_schema, falls back to json_object for servers that
refuse it, validates every answer against the template's schema (asking again a bounded
number of times), and retries 429, 5xx, timeouts and dropped connections with backoff
honouring Retry-After. A context-length refusal becomes `ContextTooLong`, which the
caller answers by shrinking the prompt once (docs/architecture.md "LLM layer"); a server that
keeps failing (5xx, HTML pages, bodies that are not JSON, refused connections) stops the
run with `ServerDown` after `max_server_failures` failed requests in a row.
"""

from __future__ import annotations

import json
import logging
import os
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from prsynth.errors import ConfigError
from prsynth.llm.backend import (
    MAX_BACKOFF,
    MAX_RETRY_AFTER,
    OPENAI_API_URL,
    Budget,
    Check,
    Completion,
    ContextTooLong,
    LLMBackend,
    LLMCallError,
    LLMError,
    ServerDown,
    answer_validator,
    price_for,
    reask,
    validate_answer,
    worst_case_tokens,
)
from prsynth.llm.context import (
    CONTEXT_MARGIN,
    OPENAI_WINDOWS,
    PromptLimit,
    Refusal,
    context_refusal,
    discover_window,
)
from prsynth.text.redact import masked_url, redact

log = logging.getLogger(__name__)

RESUME = ("Everything finished so far is stored; run the same command again to continue "
          "where it stopped")


class BadBody(Exception):
    """A 200 answer that is not a chat completion (an HTML page, text, broken JSON)."""


def checked(raw: Any) -> Any:
    """The parsed chat completion of a raw response, or `BadBody` saying what came instead."""
    content_type = raw.headers.get("content-type", "")
    try:
        response = raw.parse()
    except ValueError:
        response = None
    if response is None or isinstance(response, str) or getattr(response, "choices", None) is None:
        kind = _body_kind(content_type, raw.text) or "a body that is not a chat completion"
        raise BadBody(f"HTTP {raw.status_code} with {kind}")
    return response


def _body_kind(content_type: str, text: str) -> str:
    """ "an HTML page" / "a body that is not JSON" / "" for what a server sent."""
    start = text.lstrip()[:200].lower()
    if "html" in content_type or start.startswith(("<!doctype html", "<html")):
        return "an HTML page (a proxy, login or error page instead of the API?)"
    try:
        json.loads(text)
    except ValueError:
        return "a body that is not JSON"
    return ""


def _http_client(concurrency: int) -> Any:
    """An httpx client for the openai SDK whose pool admits `concurrency` connections."""
    import openai

    try:  # newer SDKs ship on httpx2, older ones on httpx
        import httpx2 as httpx
    except ImportError:  # pragma: no cover - depends on the installed SDK
        import httpx  # type: ignore[no-redef]
    limits = httpx.Limits(max_connections=max(concurrency * 2, 100),
                          max_keepalive_connections=max(concurrency * 2, 20))
    return openai.DefaultHttpxClient(limits=limits)


@dataclass
class OpenAIChat(LLMBackend):
    """Any OpenAI-compatible Chat Completions server, through the official client."""

    model: str = "gpt-4o-mini"
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    timeout: float = 60.0
    max_retries: int = 5
    max_reasks: int = 2
    backoff: float = 1.0
    concurrency: int = 8
    prices: dict[str, dict[str, float]] = field(default_factory=dict)
    context_window: int = 0  # 0: ask the server (or the table of OpenAI models)
    max_server_failures: int = 5
    batch_poll: float = 30.0  # seconds between looks at a Batch API batch
    remote: bool = True

    def __post_init__(self) -> None:
        self.base_url = self.base_url or os.environ.get("OPENAI_BASE_URL") or None
        if self.api_key is None:
            self.api_key = os.environ.get("OPENAI_API_KEY") or None
        self.price = price_for(self.model, self.prices)
        self._format = "json_schema"
        self._format_lock = threading.Lock()
        self._client: Any = None
        self._validators: dict[str, Any] = {}
        self._window: tuple[int, str] | None = None
        self._window_known = False
        self._failures = 0  # failed requests in a row, over every call of the run

    def prompt_limit(self, max_tokens: int) -> PromptLimit | None:
        """The model's context less the answer and a margin, counted with a safe estimate
        (tiktoken is not used: its encodings download at run time)."""
        window = self.context()
        if window is None:
            return None
        return PromptLimit(max(window[0] - max_tokens - CONTEXT_MARGIN, 1))

    def context(self) -> tuple[int, str] | None:
        """(tokens, where from) of the model's context window, or None when unknown."""
        with self._format_lock:
            if not self._window_known:
                self._window_known = True
                if self.context_window > 0:
                    self._window = (self.context_window, "[llm] context_window")
                elif self.base_url is not None:
                    self._window = discover_window(self.url, self.model, min(self.timeout, 5.0))
                elif self.model in OPENAI_WINDOWS:
                    self._window = (OPENAI_WINDOWS[self.model], "known OpenAI model")
                if self._window:
                    log.info("context window of %s: %d tokens (%s)", self.model, *self._window)
            return self._window

    def _learn_window(self, refusal: Refusal) -> None:
        if refusal.window:
            with self._format_lock:
                self._window_known = True
                self._window = (refusal.window, "the server's refusal")

    @property
    def url(self) -> str:
        return (self.base_url or OPENAI_API_URL).rstrip("/")

    def describe(self) -> str:
        return f"{self.model} at {masked_url(self.url)}"

    def cost(self, tokens_in: int, tokens_out: int) -> float:
        return self.price.cost(tokens_in, tokens_out) if self.price else 0.0

    def batch_cost(self, tokens_in: int, tokens_out: int) -> float:
        return self.price.batch_cost(tokens_in, tokens_out) if self.price else 0.0

    def check_ready(self) -> None:
        if self.base_url is None and not self.api_key:
            raise ConfigError(
                "OPENAI_API_KEY is not set; export it to use OpenAI, or point `base_url` in "
                "[llm] (or OPENAI_BASE_URL) at a local OpenAI-compatible server, "
                "or use --llm offline"
            )
        self.client()

    def client(self) -> Any:
        with self._format_lock:
            return self._client or self._make_client()

    def _make_client(self) -> Any:
        import openai

        # Local servers ignore the key, but the client insists on one.
        self._client = openai.OpenAI(
            api_key=self.api_key or "not-needed", base_url=self.url, timeout=self.timeout,
            max_retries=0, http_client=_http_client(self.concurrency),
        )
        return self._client

    def complete(
        self, messages: list[dict[str, str]], schema: dict[str, Any], *,
        temperature: float = 0.7, max_tokens: int = 800, check: Check | None = None,
        budget: Budget | None = None, context: dict[str, Any] | None = None,
    ) -> Completion:
        key = json.dumps(schema, sort_keys=True)
        if key not in self._validators:
            self._validators[key] = answer_validator(schema)
        validator = self._validators[key]
        conversation = list(messages)
        spent = {"tokens_in": 0, "tokens_out": 0, "cost_usd": 0.0, "attempts": 0}
        started = time.monotonic()
        problem = ""
        for _ in range(self.max_reasks + 1):
            response, fmt = self._request(conversation, schema, temperature, max_tokens,
                                          budget, spent)
            content = (response.choices[0].message.content or "") if response.choices else ""
            data, problem = validate_answer(content, validator)
            if data is not None and check is not None:
                problem = check(data) or ""
                data = None if problem else data
            if data is not None:
                return Completion(
                    data=data, model=self.model, tokens_in=spent["tokens_in"],
                    tokens_out=spent["tokens_out"], cost_usd=spent["cost_usd"],
                    latency_s=time.monotonic() - started, attempts=spent["attempts"],
                    response_format=fmt,
                )
            log.info("invalid answer from %s: %s; asking again", self.model, problem)
            conversation = reask(conversation, content, problem)
        raise LLMCallError(
            f"invalid answer after {self.max_reasks + 1} tries: {problem}", "invalid_answer",
            **spent,
        )

    def _request(
        self, conversation: list[dict[str, str]], schema: dict[str, Any], temperature: float,
        max_tokens: int, budget: Budget | None, spent: dict[str, Any],
    ) -> tuple[Any, str]:
        import openai

        worst_in = worst_case_tokens(conversation) + len(json.dumps(schema).encode("utf-8")) + 16
        worst = self.cost(worst_in, max_tokens)
        retries = 0
        fmt = self._format
        while True:
            if budget is not None and not budget.reserve(worst):
                raise LLMCallError("not started: it could exceed --max-cost", "max_cost", **spent)
            spent["attempts"] += 1
            try:
                try:
                    # response_format goes in extra_body: the same JSON on the wire, without
                    # the SDK walking the whole schema on every call (a third of its CPU).
                    response = checked(self.client().chat.completions.with_raw_response.create(
                        model=self.model, messages=conversation, temperature=temperature,
                        max_tokens=max_tokens,
                        extra_body={"response_format": response_format(fmt, schema)},
                    ))
                except BaseException as exc:
                    if budget is not None:
                        # A request that timed out may still be billed: count its worst case.
                        timed_out = isinstance(exc, openai.APITimeoutError)
                        budget.settle(worst, worst if timed_out else 0.0)
                    raise
            except (openai.BadRequestError, openai.UnprocessableEntityError) as exc:
                refusal = context_refusal(str(exc), getattr(exc, "body", None))
                if refusal is not None:
                    self._learn_window(refusal)
                    raise ContextTooLong(_status_message(exc), refusal, **spent) from None
                if fmt == "json_schema":
                    # Servers without structured outputs refuse json_schema; try json_object.
                    fmt = "json_object"
                    continue
                raise LLMCallError(_status_message(exc), "rejected", **spent) from None
            except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
                raise LLMError(
                    f"the LLM server at {masked_url(self.url)} refused the credentials (HTTP "
                    f"{exc.status_code}); check OPENAI_API_KEY"
                ) from None
            except openai.NotFoundError:
                raise LLMError(
                    f"the LLM server at {masked_url(self.url)} has no model {self.model!r} or no"
                    " Chat Completions endpoint (HTTP 404); check --model and base_url (it usually "
                    "ends in /v1)"
                ) from None
            except (openai.APIStatusError, openai.APIConnectionError, BadBody) as exc:
                status = getattr(exc, "status_code", None)
                if status is not None and status != 429 and status < 500:
                    raise LLMCallError(_status_message(exc), "rejected", **spent) from None
                if status != 429:
                    self._server_failed(exc)
                if retries >= self.max_retries:
                    raise self._gave_up(exc, retries, spent) from None
                delay = self._delay(retries, exc)
                log.info("LLM call failed (%s); retry %d in %.2fs", _describe(exc), retries + 1,
                         delay)
                time.sleep(delay)
                retries += 1
                continue
            self._account(response, worst, budget, spent)
            with self._format_lock:
                self._failures = 0
            if fmt != self._format:
                with self._format_lock:
                    if self._format == "json_schema":
                        log.info("%s refuses json_schema; using json_object", self.url)
                        self._format = "json_object"
            return response, fmt

    def _account(self, response: Any, worst: float, budget: Budget | None,
                 spent: dict[str, Any]) -> None:
        usage = getattr(response, "usage", None)
        tokens_in = int(getattr(usage, "prompt_tokens", 0) or 0)
        tokens_out = int(getattr(usage, "completion_tokens", 0) or 0)
        cost = self.cost(tokens_in, tokens_out)
        if budget is not None:
            budget.settle(worst, cost)
        spent["tokens_in"] += tokens_in
        spent["tokens_out"] += tokens_out
        spent["cost_usd"] += cost

    def _delay(self, retries: int, exc: Exception) -> float:
        response = getattr(exc, "response", None)
        headers = getattr(response, "headers", None) or {}
        for header, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
            value = headers.get(header)
            if value:
                try:
                    return min(max(float(value) * scale, 0.0), MAX_RETRY_AFTER)
                except ValueError:
                    pass  # an HTTP date: fall back to backoff
        return min(self.backoff * 2 ** retries, MAX_BACKOFF) * random.uniform(0.5, 1.0)

    def _server_failed(self, exc: Exception) -> None:
        """Count a failed request; stop the run when `max_server_failures` came in a row."""
        with self._format_lock:
            self._failures += 1
            failures = self._failures
        if self.max_server_failures and failures >= self.max_server_failures:
            raise ServerDown(
                f"the LLM server at {masked_url(self.url)} failed {failures} requests in a row "
                f"(last: {_describe(exc)}); stopped. {RESUME}"
            ) from None

    def _gave_up(self, exc: Exception, retries: int, spent: dict[str, Any]) -> Exception:
        import openai

        tries = retries + 1
        if isinstance(exc, openai.APITimeoutError):
            return LLMCallError(f"timed out after {tries} tries ({self.timeout:g}s each)",
                                "timeout", **spent)
        if isinstance(exc, openai.APIConnectionError):
            return ServerDown(
                f"cannot reach the LLM server at {masked_url(self.url)} ({_describe(exc)}) after"
                f" {tries} tries; start it, or fix `base_url` in [llm] / OPENAI_BASE_URL. {RESUME}"
            )
        return LLMCallError(f"{_describe(exc)} after {tries} tries", "server_error", **spent)


def response_format(fmt: str, schema: dict[str, Any]) -> dict[str, Any]:
    if fmt == "json_object":
        return {"type": "json_object"}
    return {"type": "json_schema",
            "json_schema": {"name": "answer", "schema": schema, "strict": False}}


def _describe(exc: Exception) -> str:
    if isinstance(exc, BadBody):
        return str(exc)
    status = getattr(exc, "status_code", None)
    if status:
        response = getattr(exc, "response", None)
        kind = _body_kind(response.headers.get("content-type", ""), response.text) if (
            response is not None) else ""
        return f"HTTP {status}" + (f" with {kind}" if kind else "")
    cause = exc.__cause__ or exc.__context__
    return f"{type(exc).__name__}: {cause or exc}"[:200]


def _status_message(exc: Exception) -> str:
    body = getattr(exc, "body", None)
    message = body.get("message") if isinstance(body, dict) else None
    return redact(f"HTTP {getattr(exc, 'status_code', '?')}: {message or exc}"[:300])
