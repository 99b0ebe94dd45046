"""The OpenAI-compatible backend, driven through the real openai client against a local
Chat Completions server: structured output, fallback, re-asks, retries, timeouts."""

import json
import socket
import time

import pytest

from prsynth.config import LLMConfig
from prsynth.errors import ConfigError
from prsynth.llm import make_backend
from prsynth.llm.backend import Budget, LLMCallError, LLMError, price_for
from prsynth.llm.offline import OfflineBaseline
from prsynth.llm.openai_chat import OpenAIChat
from tests.support.openai_server import chat_server_fixture

server = chat_server_fixture()

SCHEMA = {"type": "object", "required": ["query", "task_type", "difficulty", "skills"],
          "additionalProperties": False,
          "properties": {"query": {"type": "string", "minLength": 8},
                         "task_type": {"type": "string"},
                         "difficulty": {"enum": ["easy", "medium", "hard"]},
                         "skills": {"type": "array", "items": {"type": "string"}}}}
MESSAGES = [{"role": "system", "content": "Answer in JSON."},
            {"role": "user", "content": "Title: Fix the parser\nWrite the request."}]
VALID = json.dumps({"query": "Fix the parser please", "task_type": "bugfix",
                    "difficulty": "easy", "skills": ["python"]})


def backend(server, **options):
    defaults = {"model": "gpt-4o-mini", "base_url": server.url, "backoff": 0.001,
                "max_retries": 3, "timeout": 5.0}
    return OpenAIChat(**{**defaults, **options})


def test_asks_for_json_schema_and_returns_the_validated_answer_with_usage(server):
    completion = backend(server).complete(MESSAGES, SCHEMA, temperature=0.3, max_tokens=123)
    assert completion.data["query"].startswith("Can you fix the parser")
    (request,) = server.requests
    assert request.body["response_format"]["type"] == "json_schema"
    assert request.body["response_format"]["json_schema"]["schema"] == SCHEMA
    assert request.body["temperature"] == 0.3 and request.body["max_tokens"] == 123
    assert (completion.tokens_in, completion.tokens_out) == (server.tokens_in, server.tokens_out)
    assert completion.cost_usd == pytest.approx(
        (server.tokens_in * 0.15 + server.tokens_out * 0.60) / 1e6)
    assert completion.response_format == "json_schema" and completion.latency_s > 0


def test_server_refusing_json_schema_gets_json_object_from_then_on(server):
    server.accept_json_schema = False
    chat = backend(server)
    assert chat.complete(MESSAGES, SCHEMA).response_format == "json_object"
    assert chat.complete(MESSAGES, SCHEMA).data["task_type"] == "bugfix"
    assert [r.response_format for r in server.requests] == [
        "json_schema", "json_object", "json_object"]
    assert [r.status for r in server.requests] == [400, 200, 200]


def test_invalid_answer_is_asked_again_with_the_reason(server):
    server.push({"content": '{"query": "truncated'}, {"content": json.dumps({"query": "x"})})
    completion = backend(server).complete(MESSAGES, SCHEMA)
    assert completion.data["query"].startswith("Can you")
    assert len(server.requests) == 3 and completion.attempts == 3
    second, third = server.requests[1].body["messages"], server.requests[2].body["messages"]
    assert second[-2] == {"role": "assistant", "content": '{"query": "truncated'}
    assert "not valid JSON" in second[-1]["content"]
    assert "does not match the schema" in third[-1]["content"]
    assert completion.tokens_in == server.tokens_in  # every try is paid for


def test_answer_invalid_every_time_fails_after_bounded_reasks(server):
    server.answer = lambda request: "PWNED"
    with pytest.raises(LLMCallError) as failure:
        backend(server, max_reasks=2).complete(MESSAGES, SCHEMA)
    assert failure.value.reason == "invalid_answer" and "not valid JSON" in str(failure.value)
    assert len(server.requests) == 3 and failure.value.tokens_in == server.tokens_in


def test_rate_limit_waits_for_retry_after(server):
    server.push({"status": 429, "headers": {"Retry-After": "1"}})
    completion = backend(server).complete(MESSAGES, SCHEMA)
    first, second = server.requests
    assert first.status == 429 and second.status == 200
    assert second.started - first.finished >= 0.9  # backoff alone would be ~1 ms
    assert completion.attempts == 2


def test_server_errors_are_retried_then_reported(server):
    server.push({"status": 500}, {"status": 503})
    assert backend(server).complete(MESSAGES, SCHEMA).attempts == 3
    server.push(*[{"status": 500}] * 4)
    with pytest.raises(LLMCallError) as failure:
        backend(server, max_retries=3).complete(MESSAGES, SCHEMA)
    assert failure.value.reason == "server_error" and "after 4 tries" in str(failure.value)


def test_slow_answers_time_out_and_are_retried(server):
    server.push({"sleep": 4.0})
    started = time.monotonic()
    completion = backend(server, timeout=0.3).complete(MESSAGES, SCHEMA)
    # Gave up on the slow answer and asked again, instead of waiting the 4 s out.
    assert completion.attempts == 2 and time.monotonic() - started < 3.0
    server.push({"sleep": 0.6}, {"sleep": 0.6})
    with pytest.raises(LLMCallError) as failure:
        backend(server, timeout=0.2, max_retries=1).complete(MESSAGES, SCHEMA)
    assert failure.value.reason == "timeout"


def test_unreachable_server_is_one_clear_error():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    chat = OpenAIChat(base_url=f"http://127.0.0.1:{port}/v1", backoff=0.001, max_retries=1)
    with pytest.raises(LLMError, match=f"cannot reach the LLM server at http://127.0.0.1:{port}"):
        chat.complete(MESSAGES, SCHEMA)


def test_rejected_key_stops_with_a_message_that_does_not_contain_it(server):
    server.push({"status": 401})
    chat = backend(server, api_key="sk-test-abcdefghijklmnopqrstuvwxyz0123")
    with pytest.raises(LLMError) as failure:
        chat.complete(MESSAGES, SCHEMA)
    assert "OPENAI_API_KEY" in str(failure.value) and "sk-test" not in str(failure.value)
    assert server.requests[0].headers["authorization"].endswith("0123")


def test_missing_api_key_for_openai_is_a_config_error(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(ConfigError, match="OPENAI_API_KEY is not set"):
        OpenAIChat().check_ready()
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    OpenAIChat().check_ready()  # a local server needs no key


def test_budget_refuses_a_call_whose_worst_case_does_not_fit(server):
    budget = Budget(max_cost=1e-9)
    with pytest.raises(LLMCallError) as failure:
        backend(server).complete(MESSAGES, SCHEMA, budget=budget)
    assert failure.value.reason == "max_cost" and server.requests == []
    budget = Budget(max_cost=1.0)
    completion = backend(server).complete(MESSAGES, SCHEMA, budget=budget)
    assert budget.spent == pytest.approx(completion.cost_usd)


def test_prices_come_from_config_then_defaults():
    assert price_for("gpt-4o-mini").input == 0.15
    assert price_for("my-local", {"my-local": {"input": 1, "output": 2}}).output == 2.0
    assert price_for("unknown-model") is None
    assert price_for("gpt-4o-mini").batch_cost(1_000_000, 1_000_000) == pytest.approx(0.375)
    own = price_for("m", {"m": {"input": 1, "output": 2, "batch_output": 0.5}})
    assert own.batch_cost(1_000_000, 1_000_000) == pytest.approx(0.5 + 0.5)
    with pytest.raises(ConfigError, match="unknown keys"):
        price_for("m", {"m": {"inptu": 1}})


def test_make_backend_picks_by_name(monkeypatch):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    assert isinstance(make_backend(LLMConfig()), OfflineBaseline)
    chat = make_backend(LLMConfig(base_url="http://x/v1", model="m"), llm="openai", model="n")
    assert isinstance(chat, OpenAIChat) and chat.model == "n" and chat.url == "http://x/v1"
    with pytest.raises(ConfigError, match="unknown"):
        make_backend(LLMConfig(), llm="claude")


def test_a_timed_out_request_counts_its_worst_case_against_the_budget(server):
    server.push({"sleep": 0.6})
    budget = Budget(max_cost=10.0)
    completion = backend(server, timeout=0.2).complete(MESSAGES, SCHEMA, budget=budget)
    assert completion.attempts == 2 and budget.spent > 2 * completion.cost_usd
