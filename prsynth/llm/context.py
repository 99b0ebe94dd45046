"""How much prompt a model takes: its context window and a token count for prompts.

The window comes, in order, from `[llm] context_window`, from the server itself
(llama.cpp's `/props`, vLLM's `max_model_len` in `/v1/models`, Ollama's `/api/show`),
from a table of OpenAI models, or from a context-length refusal (the server names its
limit). Tokens are counted with a safe estimate, see docs/architecture.md "LLM layer".
"""

from __future__ import annotations

import json
import logging
import math
import re
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

# Context windows of OpenAI models (tokens), for api.openai.com, which does not say.
OPENAI_WINDOWS: dict[str, int] = {
    "gpt-4o-mini": 128_000, "gpt-4o": 128_000, "gpt-4.1": 1_047_576,
    "gpt-4.1-mini": 1_047_576, "gpt-4.1-nano": 1_047_576, "gpt-5": 400_000,
    "gpt-5-mini": 400_000, "gpt-5-nano": 400_000, "o4-mini": 200_000, "o3-mini": 200_000,
}
# Ollama serves a model with `num_ctx` tokens (its default when the model sets none).
OLLAMA_DEFAULT_CTX = 4096
# Tokens kept free beyond the answer: chat-template markers, the estimate's slack.
CONTEXT_MARGIN = 64
# Room for the chat template's role markers around each message.
TOKENS_PER_MESSAGE = 8
# What a refusal says (llama.cpp; OpenAI and vLLM).
REFUSAL = re.compile(
    r"exceeds the available context size|maximum context length|context_length_exceeded"
    r"|context length|too many tokens", re.IGNORECASE)
WINDOW_IN_MESSAGE = (
    re.compile(r"available context size \((\d+) tokens\)"),
    re.compile(r"maximum context length is (\d+) tokens"),
)
PROMPT_IN_MESSAGE = (
    re.compile(r"request \((\d+) tokens\)"),
    re.compile(r"resulted in (\d+) tokens"),
    re.compile(r"\((\d+) in the messages"),
)

Counter = Callable[[str], int]


def safe_token_estimate(text: str) -> int:
    """An upper-leaning token count for any tokenizer, without one: ASCII at 2.5
    characters a token (code and English run 2.5-3.5 on small-vocabulary models), and
    every UTF-8 byte of other characters a token (byte-level BPE's worst case; combining
    marks and CJK come close to it)."""
    ascii_chars = sum(1 for c in text if c < "\x80") if not text.isascii() else len(text)
    other_bytes = len(text.encode("utf-8")) - ascii_chars
    return math.ceil(ascii_chars / 2.5) + other_bytes


@dataclass(frozen=True)
class PromptLimit:
    """The most tokens the rendered messages may take, and how to count them."""

    tokens: int
    count: Counter = safe_token_estimate

    def messages_tokens(self, messages: list[dict[str, str]]) -> int:
        return sum(self.count(m["content"]) + TOKENS_PER_MESSAGE for m in messages)

    def shrunk(self, factor: float) -> PromptLimit:
        return PromptLimit(max(1, int(self.tokens * factor)), self.count)


@dataclass(frozen=True)
class Refusal:
    """A context-length refusal: the window and the prompt size the server reported."""

    window: int | None
    prompt_tokens: int | None


def context_refusal(message: str, body: Any = None) -> Refusal | None:
    """The refusal in an HTTP 400 answer, or None when it is about something else."""
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and "n_ctx" in inner:  # llama.cpp names both numbers
            return Refusal(_int(inner.get("n_ctx")), _int(inner.get("n_prompt_tokens")))
        if isinstance(inner, dict) and inner.get("code") == "context_length_exceeded":
            message = f"{message} {inner.get('message', '')} context_length_exceeded"
    if not REFUSAL.search(message):
        return None
    return Refusal(_first(WINDOW_IN_MESSAGE, message), _first(PROMPT_IN_MESSAGE, message))


def _first(patterns: tuple[re.Pattern[str], ...], text: str) -> int | None:
    for pattern in patterns:
        match = pattern.search(text)
        if match:
            return int(match.group(1))
    return None


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def discover_window(base_url: str, model: str, timeout: float = 5.0) -> tuple[int, str] | None:
    """(tokens, where) as the server at `base_url` (ending in /v1) tells it, else None."""
    root = base_url.rstrip("/").removesuffix("/v1")
    props = _get_json(f"{root}/props", timeout)
    if isinstance(props, dict):
        settings = props.get("default_generation_settings") or {}
        n_ctx = _int(props.get("n_ctx")) or _int(settings.get("n_ctx"))
        if n_ctx:
            return n_ctx, "llama.cpp /props"
    models = _get_json(f"{base_url.rstrip('/')}/models", timeout)
    entries = [e for e in (models.get("data") or []) if isinstance(e, dict)] if isinstance(
        models, dict) else []
    named = [e for e in entries if e.get("id") == model] or (entries if len(entries) == 1 else [])
    for entry in named:
        limit = _int(entry.get("max_model_len")) or _int((entry.get("meta") or {}).get("n_ctx"))
        if limit:
            return limit, "/v1/models"
    shown = _post_json(f"{root}/api/show", {"model": model}, timeout)
    if isinstance(shown, dict) and ("model_info" in shown or "parameters" in shown):
        match = re.search(r"^num_ctx\s+(\d+)", str(shown.get("parameters") or ""), re.MULTILINE)
        if match:
            return int(match.group(1)), "Ollama num_ctx"
        trained = [v for k, v in (shown.get("model_info") or {}).items()
                   if k.endswith(".context_length") and _int(v)]
        return min([OLLAMA_DEFAULT_CTX, *map(int, trained)]), "Ollama's default num_ctx"
    return None


def _get_json(url: str, timeout: float) -> Any:
    return _fetch(urllib.request.Request(url), timeout)


def _post_json(url: str, body: dict[str, Any], timeout: float) -> Any:
    return _fetch(urllib.request.Request(
        url, data=json.dumps(body).encode("utf-8"),
        headers={"Content-Type": "application/json"}), timeout)


def _fetch(request: urllib.request.Request, timeout: float) -> Any:
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return json.loads(response.read(2_000_000))
    except (urllib.error.URLError, OSError, ValueError) as exc:
        log.debug("no context window at %s: %s", request.full_url, exc)
        return None
