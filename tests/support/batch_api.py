"""The OpenAI Files and Batches endpoints on a `ChatServer`, for tests of `--batch`.

POST /v1/files (multipart upload), POST /v1/batches, GET /v1/batches/{id} and
GET /v1/files/{id}/content, with real-shaped objects. A batch is answered line by line
with the chat server's own `answer` and token counts, so synchronous and batch runs see
the same tokens; it stays `in_progress` while `hold` is set, and for `polls` looks.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import math
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.support.openai_server import ChatServer, LoggedRequest


@dataclass
class BatchAPI:
    chat: ChatServer
    hold: bool = False
    polls: int = 1  # looks at a batch before it completes
    files: dict[str, bytes] = field(default_factory=dict)
    batches: dict[str, dict[str, Any]] = field(default_factory=dict)
    uploads: list[bytes] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._looks: dict[str, int] = {}
        self.chat.routes = self.route

    def route(self, handler: BaseHTTPRequestHandler, method: str, raw: bytes) -> bool:
        path = handler.path.split("?")[0]
        if method == "POST" and path.endswith("/v1/files"):
            self._send(handler, self._upload(handler.headers.get("Content-Type", ""), raw))
        elif method == "POST" and path.endswith("/v1/batches"):
            self._send(handler, self._create(json.loads(raw)))
        elif method == "GET" and (match := re.search(r"/v1/batches/([\w-]+)$", path)):
            self._send(handler, self._look(match.group(1)))
        elif method == "GET" and (match := re.search(r"/v1/files/([\w-]+)/content$", path)):
            data = self.files[match.group(1)]
            handler.send_response(200)
            handler.send_header("Content-Type", "application/octet-stream")
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
        else:
            return False
        return True

    def _upload(self, content_type: str, raw: bytes) -> dict[str, Any]:
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + raw)
        data = next(part.get_payload(decode=True) for part in message.iter_parts()
                    if part.get_param("name", header="content-disposition") == "file")
        with self._lock:
            file_id = f"file-{len(self.files) + 1}"
            self.files[file_id] = data
            self.uploads.append(data)
        return {"id": file_id, "object": "file", "bytes": len(data), "created_at": int(time.time()),
                "filename": "input.jsonl", "purpose": "batch", "status": "processed"}

    def _create(self, body: dict[str, Any]) -> dict[str, Any]:
        lines = self.files[body["input_file_id"]].decode("utf-8").splitlines()
        with self._lock:
            batch_id = f"batch_{len(self.batches) + 1}"
            self.batches[batch_id] = {
                "id": batch_id, "object": "batch", "endpoint": body["endpoint"],
                "input_file_id": body["input_file_id"], "completion_window": "24h",
                "status": "in_progress", "created_at": int(time.time()),
                "output_file_id": None, "error_file_id": None,
                "request_counts": {"total": len(lines), "completed": 0, "failed": 0},
                "metadata": body.get("metadata"),
            }
            return dict(self.batches[batch_id])

    def _look(self, batch_id: str) -> dict[str, Any]:
        with self._lock:
            batch = self.batches[batch_id]
            self._looks[batch_id] = self._looks.get(batch_id, 0) + 1
            if (batch["status"] == "in_progress" and not self.hold
                    and self._looks[batch_id] >= self.polls):
                self._finish(batch)
            return dict(batch)

    def _finish(self, batch: dict[str, Any]) -> None:
        out = []
        for line in self.files[batch["input_file_id"]].decode("utf-8").splitlines():
            request = json.loads(line)
            logged = LoggedRequest(request["body"], {}, time.monotonic())
            content = self.chat.answer(logged)
            tokens_in, tokens_out = math.ceil(len(logged.text) / 4), math.ceil(len(content) / 4)
            out.append(json.dumps({"id": f"resp-{len(out)}", "custom_id": request["custom_id"],
                                   "response": {"status_code": 200, "body": {
                                       "id": "chatcmpl-b", "object": "chat.completion",
                                       "model": request["body"]["model"],
                                       "choices": [{"index": 0, "finish_reason": "stop",
                                                    "message": {"role": "assistant",
                                                                "content": content}}],
                                       "usage": {"prompt_tokens": tokens_in,
                                                 "completion_tokens": tokens_out,
                                                 "total_tokens": tokens_in + tokens_out}}},
                                   "error": None}))
        file_id = f"file-{len(self.files) + 1}"
        self.files[file_id] = ("\n".join(out) + "\n").encode("utf-8")
        batch.update(status="completed", output_file_id=file_id,
                     request_counts={"total": len(out), "completed": len(out), "failed": 0})

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        ChatServer._send(handler, 200, body)
