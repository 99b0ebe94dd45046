"""A local server that speaks the OpenAI Chat Completions protocol, for tests and benchmarks.

It answers POST /v1/chat/completions with real-shaped responses (id, choices, usage),
and can be told to misbehave, one scripted behaviour per request: 429 with Retry-After,
500, slow answers (client timeouts), invalid JSON or schema-violating content, or a
400 refusal of `response_format` json_schema. It logs every request it receives.

    python -m tests.support.openai_server --latency 0.1   # prints its base URL
"""

from __future__ import annotations

import argparse
import json
import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass
class LoggedRequest:
    body: dict[str, Any]
    headers: dict[str, str]
    started: float
    finished: float = 0.0
    status: int = 200

    @property
    def text(self) -> str:
        """All message contents of the request, joined (what a model would read)."""
        return "\n".join(m.get("content", "") for m in self.body.get("messages", []))

    @property
    def response_format(self) -> str:
        return (self.body.get("response_format") or {}).get("type", "")


def default_answer(request: LoggedRequest) -> str:
    """A valid answer for the vibe_request or judge template, derived from the prompt."""
    if "Request to rate" in request.text:
        return json.dumps({"realism": 4, "specificity": 4, "agreement": 4, "verifiability": 3,
                           "leakage": 5, "rating": 7,
                           "reason": "clear goal, realistic, no leakage"})
    title = re.search(r"^Title: (.*)$", request.text, re.MULTILINE)
    goal = title.group(1).strip() if title else "fix the thing"
    return json.dumps({
        "query": f"Can you {goal[:1].lower()}{goal[1:]}? Keep everything else as it is and "
                 "add a test.",
        "task_type": "bugfix", "difficulty": "medium", "skills": ["python", "debugging"],
    })


@dataclass
class ChatServer:
    """Chat Completions on 127.0.0.1; `behaviours` apply to the next requests in order."""

    latency: float = 0.0
    accept_json_schema: bool = True
    answer: Callable[[LoggedRequest], str] = default_answer
    requests: list[LoggedRequest] = field(default_factory=list)
    behaviours: deque = field(default_factory=deque)
    fault: dict[str, Any] | None = None  # applied to every request while set (e.g. an outage)
    # Answers other paths first when set (the Batch API, tests/support/batch_api.py):
    # (handler, method, body) -> True when it answered.
    routes: Callable[[BaseHTTPRequestHandler, str, bytes], bool] | None = None
    max_in_flight: int = 0
    tokens_in: int = 0
    tokens_out: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._in_flight = 0
        self._server: ThreadingHTTPServer | None = None

    def push(self, *behaviours: dict[str, Any]) -> None:
        """Queue behaviours: {"status": 429, "headers": {...}}, {"sleep": 2.0},
        {"content": "not json"}, {"status": 502, "body": "<html>...</html>"} (a raw body,
        HTML unless "content_type" says otherwise); each is used by one request, then
        normal answers resume (or `fault`, while it is set)."""
        self.behaviours.extend(behaviours)

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    @property
    def completions(self) -> list[LoggedRequest]:
        return [r for r in self.requests if r.status == 200]

    def start(self) -> ChatServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out in separate writes

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                server._handle(self)

            def do_GET(self) -> None:
                if not (server.routes and server.routes(self, "GET", b"")):
                    server._send(self, 404, {"error": {"message": "not found",
                                                       "type": "invalid"}})

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.request_queue_size = 256
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                         daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        arrived = time.monotonic()
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length)
        if self.routes and self.routes(handler, "POST", raw):
            return
        if not handler.path.endswith("/chat/completions"):
            self._send(handler, 404, {"error": {"message": "not found", "type": "invalid"}})
            return
        request = LoggedRequest(json.loads(raw), {k.lower(): v for k, v in handler.headers.items()},
                                arrived)
        with self._lock:
            self.requests.append(request)
            behaviour = self.behaviours.popleft() if self.behaviours else (self.fault or {})
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            self._respond(handler, request, behaviour)
        finally:
            with self._lock:
                self._in_flight -= 1
            request.finished = time.monotonic()

    def _respond(self, handler: BaseHTTPRequestHandler, request: LoggedRequest,
                 behaviour: dict[str, Any]) -> None:
        # The answer leaves `delay` after the request arrived, whatever the work took.
        deadline = request.started + behaviour.get("sleep", self.latency)

        def pause() -> None:
            time.sleep(max(0.0, deadline - time.monotonic()))

        if "body" in behaviour:  # a raw answer: an HTML page, text, broken JSON
            pause()
            request.status = behaviour.get("status", 200)
            self._send_raw(handler, request.status, behaviour["body"].encode("utf-8"),
                           behaviour.get("content_type", "text/html; charset=utf-8"))
            return
        status = behaviour.get("status")
        if status:
            pause()
            request.status = status
            error = {"error": {"message": behaviour.get("message", f"simulated {status}"),
                               "type": "server_error" if status >= 500 else "invalid_request_error",
                               "code": None}}
            self._send(handler, status, error, behaviour.get("headers", {}))
            return
        if request.response_format == "json_schema" and not self.accept_json_schema:
            request.status = 400
            pause()
            self._send(handler, 400, {"error": {
                "message": "response_format json_schema is not supported by this server",
                "type": "invalid_request_error", "param": "response_format", "code": None}})
            return
        content = behaviour["content"] if "content" in behaviour else self.answer(request)
        tokens_in = math.ceil(len(request.text) / 4)
        tokens_out = math.ceil(len(content) / 4)
        with self._lock:
            self.tokens_in += tokens_in
            self.tokens_out += tokens_out
        pause()
        self._send(handler, 200, {
            "id": f"chatcmpl-{len(self.requests)}", "object": "chat.completion",
            "created": int(time.time()), "model": request.body.get("model", ""),
            "system_fingerprint": "fp_local",
            "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                         "message": {"role": "assistant", "content": content,
                                     "refusal": None}}],
            "usage": {"prompt_tokens": tokens_in, "completion_tokens": tokens_out,
                      "total_tokens": tokens_in + tokens_out},
        })

    @staticmethod
    def _send_raw(handler: BaseHTTPRequestHandler, status: int, data: bytes,
                  content_type: str) -> None:
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", content_type)
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, status: int, body: dict[str, Any],
              headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode("utf-8")
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test)


def chat_server_fixture() -> Any:
    """A pytest fixture giving a started ChatServer (assign it to a module-level name)."""

    @pytest.fixture
    def fixture(monkeypatch: pytest.MonkeyPatch):
        monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
        monkeypatch.delenv("OPENAI_API_KEY", raising=False)
        server = ChatServer().start()
        yield server
        server.stop()

    return fixture


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.0)
    args = parser.parse_args()
    server = ChatServer(latency=args.latency).start()
    print(server.url, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
