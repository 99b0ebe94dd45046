"""`OfflineBaseline`: no model at all; builds the answer from the PR text
(`prsynth.llm.baseline`). Everything it makes is labelled "offline-baseline"."""

from __future__ import annotations

import json
import time
from typing import Any

from prsynth.errors import ConfigError
from prsynth.llm import baseline
from prsynth.llm.backend import (
    OFFLINE_MODEL,
    Budget,
    Check,
    Completion,
    LLMBackend,
    LLMCallError,
    answer_validator,
    validate_answer,
)


class OfflineBaseline(LLMBackend):
    """Deterministic requests and ratings built from the PR text, without any model."""

    model = OFFLINE_MODEL
    remote = False

    def complete(
        self, messages: list[dict[str, str]], schema: dict[str, Any], *,
        temperature: float = 0.7, max_tokens: int = 800, check: Check | None = None,
        budget: Budget | None = None, context: dict[str, Any] | None = None,
    ) -> Completion:
        started = time.monotonic()
        if context is None:
            raise LLMCallError("the offline baseline needs the template variables", "failed")
        properties = schema.get("properties", {})
        if "query" in properties:
            data = baseline.baseline_request(context)
        elif "rating" in properties:
            data = baseline.baseline_judgement(context)
        else:
            raise ConfigError(
                "the offline baseline fills only templates with a `query` or a `rating` "
                "field; use --llm openai for this template"
            )
        allowed = set(properties) if schema.get("additionalProperties") is False else None
        if allowed is not None:
            data = {k: v for k, v in data.items() if k in allowed}
        answer, problem = validate_answer(json.dumps(data), answer_validator(schema))
        if answer is None:
            raise ConfigError(
                f"the offline baseline cannot answer this template: its answer {problem}; "
                "use --llm openai"
            )
        if check is not None and (why := check(answer)):
            raise LLMCallError(f"offline answer rejected: {why}", "invalid_answer")
        return Completion(data=answer, model=OFFLINE_MODEL, latency_s=time.monotonic() - started,
                          response_format="offline")
