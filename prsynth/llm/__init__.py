"""The LLM layer: one interface (`backend`), its backends, prompt templates and the calls
loop with its cache and log. See docs/architecture.md, "LLM layer"."""

from __future__ import annotations

import os
from typing import Any

from prsynth.config import LLMConfig
from prsynth.errors import ConfigError
from prsynth.llm.backend import LLMBackend
from prsynth.llm.offline import OfflineBaseline
from prsynth.llm.openai_chat import OpenAIChat


def make_backend(
    config: LLMConfig, llm: str | None = None, model: str | None = None, **options: Any
) -> LLMBackend:
    """The backend named by `llm` (else `[llm] backend`): "openai" or "offline"."""
    name = llm or config.backend
    if name == "offline":
        return OfflineBaseline()
    if name == "openai":
        # As everywhere in prsynth: the environment overrides the config file.
        base_url = os.environ.get("OPENAI_BASE_URL") or config.base_url or None
        return OpenAIChat(
            model=model or config.model, base_url=base_url,
            timeout=config.timeout, max_retries=config.max_retries,
            concurrency=config.concurrency, prices=config.prices,
            context_window=config.context_window,
            max_server_failures=config.max_server_failures, batch_poll=config.batch_poll,
            **options,
        )
    raise ConfigError(f"--llm {name!r} is unknown; use openai or offline")
