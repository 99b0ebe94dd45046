"""The one small LLM interface, `complete(messages, schema) -> Completion`, and what every
backend shares: errors, prices (synchronous and Batch API), the cost budget, answer
validation, and how much prompt fits (`prompt_limit`).

The backends: `prsynth.llm.openai_chat.OpenAIChat` (any OpenAI-compatible server) and
`prsynth.llm.offline.OfflineBaseline` (no model); `prsynth.llm.make_backend` picks one.

Caching, logging and concurrency live one level up, in `prsynth.llm.calls`.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jsonschema

from prsynth.errors import ConfigError, PrsynthError
from prsynth.llm.context import PromptLimit, Refusal

log = logging.getLogger(__name__)

OFFLINE_MODEL = "offline-baseline"
OPENAI_API_URL = "https://api.openai.com/v1"
# USD per million tokens (input, output), for models whose price is not in the config.
DEFAULT_PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-5": (1.25, 10.00),
    "gpt-5-mini": (0.25, 2.00),
    "gpt-5-nano": (0.05, 0.40),
    "o4-mini": (1.10, 4.40),
    "o3-mini": (1.10, 4.40),
}
MAX_RETRY_AFTER = 120.0
MAX_BACKOFF = 30.0

Check = Callable[[dict[str, Any]], str | None]


class LLMError(PrsynthError):
    """An LLM problem that stops the whole run (a rejected key, an unknown model)."""


class ServerDown(LLMError):
    """The server failed too many times in a row: the run stops, what finished is kept."""

    exit_code = 3


class LLMCallError(PrsynthError):
    """One request failed for good; what it spent before failing is carried along."""

    def __init__(self, message: str, reason: str = "failed", *, tokens_in: int = 0,
                 tokens_out: int = 0, cost_usd: float = 0.0, attempts: int = 1) -> None:
        super().__init__(message)
        self.reason = reason
        self.tokens_in = tokens_in
        self.tokens_out = tokens_out
        self.cost_usd = cost_usd
        self.attempts = attempts


class ContextTooLong(LLMCallError):
    """The server refused the prompt as longer than its context window."""

    def __init__(self, message: str, refusal: Refusal, **spent: Any) -> None:
        super().__init__(message, "context_length", **spent)
        self.refusal = refusal


@dataclass
class Completion:
    """A validated answer and what it cost."""

    data: dict[str, Any]
    model: str
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    latency_s: float = 0.0
    cached: bool = False
    attempts: int = 1
    response_format: str = ""
    note: str = ""  # e.g. the prompt was shrunk after a context-length refusal


@dataclass(frozen=True)
class Price:
    """USD per million tokens, synchronous and through the Batch API (half by default,
    as OpenAI charges)."""

    input: float
    output: float
    batch_input: float | None = None
    batch_output: float | None = None

    def cost(self, tokens_in: int, tokens_out: int) -> float:
        return (tokens_in * self.input + tokens_out * self.output) / 1_000_000

    def batch_cost(self, tokens_in: int, tokens_out: int) -> float:
        batch_in = self.input / 2 if self.batch_input is None else self.batch_input
        batch_out = self.output / 2 if self.batch_output is None else self.batch_output
        return (tokens_in * batch_in + tokens_out * batch_out) / 1_000_000


def price_for(model: str, prices: dict[str, dict[str, float]] | None = None) -> Price | None:
    """The configured price of `model`, else the built-in one, else None (unknown)."""
    configured = (prices or {}).get(model)
    if configured is not None:
        unknown = set(configured) - {"input", "output", "batch_input", "batch_output"}
        if unknown:
            raise ConfigError(
                f"config [llm.prices.{model}] has unknown keys {', '.join(sorted(unknown))};"
                " use input and output (USD per million tokens), and optionally batch_input"
                " and batch_output (default: half)"
            )
        batch = [configured.get(k) for k in ("batch_input", "batch_output")]
        return Price(float(configured.get("input", 0.0)), float(configured.get("output", 0.0)),
                     *(None if b is None else float(b) for b in batch))
    if model in DEFAULT_PRICES:
        return Price(*DEFAULT_PRICES[model])
    return None


class Budget:
    """A hard spending cap shared by concurrent calls.

    A request starts only after reserving its worst-case cost (every prompt byte a token,
    plus the full `max_tokens` answer); the reservation is settled to the real cost when
    the answer arrives, so the total spent never exceeds the cap.
    """

    def __init__(self, max_cost: float | None = None) -> None:
        self.max_cost = max_cost if max_cost and max_cost > 0 else None
        self.spent = 0.0
        self._reserved = 0.0
        self._outstanding = 0  # a count, so float rounding never leaves a phantom reservation
        self._settled = threading.Condition()

    def reserve(self, amount: float) -> bool:
        """Reserve `amount`; wait while other calls' reservations may still shrink, and
        refuse only when nothing is outstanding and it still does not fit."""
        with self._settled:
            while self.max_cost is not None and (
                    self.spent + self._reserved + amount > self.max_cost):
                if self._outstanding == 0:
                    return False
                self._settled.wait()
            self._reserved += amount
            self._outstanding += 1
            return True

    def settle(self, reserved: float, actual: float) -> None:
        with self._settled:
            self._outstanding -= 1
            self._reserved = self._reserved - reserved if self._outstanding else 0.0
            self.spent += actual
            self._settled.notify_all()


class LLMBackend:
    """What synth and judge need from a model: a validated JSON answer with its cost."""

    model: str = ""
    remote: bool = True  # False: nothing leaves the machine, so no cache or budget needed

    def complete(
        self, messages: list[dict[str, str]], schema: dict[str, Any], *,
        temperature: float = 0.7, max_tokens: int = 800, check: Check | None = None,
        budget: Budget | None = None, context: dict[str, Any] | None = None,
    ) -> Completion:
        raise NotImplementedError

    def cost(self, tokens_in: int, tokens_out: int) -> float:
        return 0.0

    def batch_cost(self, tokens_in: int, tokens_out: int) -> float:
        """What the same tokens cost through the Batch API."""
        return 0.0

    def prompt_limit(self, max_tokens: int) -> PromptLimit | None:
        """How many prompt tokens leave room for a `max_tokens` answer (None: no limit)."""
        return None

    def check_ready(self) -> None:
        """Raise a one-line error when the backend cannot work (e.g. a missing API key)."""

    def describe(self) -> str:
        return self.model


def check_cap_is_enforceable(backend: LLMBackend, max_cost: float | None) -> None:
    """A spending cap needs a price: refuse a cap on a model whose tokens cost "nothing"."""
    if max_cost and backend.remote and getattr(backend, "price", None) is None:
        raise ConfigError(
            f"--max-cost needs a price for model {backend.model!r}; add [llm.prices."
            f'"{backend.model}"] with input and output (USD per million tokens) to the config'
        )


def validate_answer(content: str, validator: Any) -> tuple[dict[str, Any] | None, str]:
    """(answer, "") when `content` is a JSON object the schema accepts, else (None, why)."""
    text = content.strip()
    if text.startswith("```"):
        # Some local models wrap JSON in a Markdown fence even in JSON mode.
        text = text.strip("`").removeprefix("json").strip()
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, f"not valid JSON ({exc.msg} at position {exc.pos})"
    if not isinstance(data, dict):
        return None, "not a JSON object"
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        return None, f"does not match the schema at {where}: {error.message[:200]}"
    return data, ""


def reask(conversation: list[dict[str, str]], content: str, problem: str
          ) -> list[dict[str, str]]:
    """The conversation asking again after an invalid answer, with the reason."""
    return [*conversation, {"role": "assistant", "content": content[:4000]},
            {"role": "user", "content": f"That answer is invalid: {problem}. Reply again "
                                        "with only a JSON object that matches the schema."}]


def worst_case_tokens(messages: list[dict[str, str]]) -> int:
    """No tokenizer makes more tokens than bytes: what a spending cap must assume."""
    return sum(len(m["content"].encode("utf-8")) + 8 for m in messages)


def answer_validator(schema: dict[str, Any]) -> Any:
    return jsonschema.validators.validator_for(schema)(schema)
