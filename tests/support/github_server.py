"""A small HTTP server on 127.0.0.1 that speaks the parts of GitHub's REST API prsynth uses.

It serves repositories, pull request lists (sorted, paginated with `Link` headers),
single pulls, pull files (with or without `patch`), issues, ETags with 304 answers,
`X-RateLimit-*` headers, and faults a test programs: primary and secondary rate
limits, 5xx answers, dropped connections, 404, 401, 403 and slow answers. Every
request is logged with its headers and the time it arrived, so tests can count
requests and check what was sent. Tests drive the real PyGithub client against it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

PREFIX = "/api/v3"
BASE_TIME = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def stamp(minutes: int) -> str:
    """An ISO time `minutes` after 2024-01-01, as GitHub writes times."""
    return (BASE_TIME + dt.timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


def sha(*parts: object) -> str:
    return hashlib.sha1(repr(parts).encode()).hexdigest()


@dataclass
class LoggedRequest:
    at: float  # time.monotonic() when it arrived
    wall: float  # time.time() when it arrived
    method: str
    path: str  # without the /api/v3 prefix, with the query
    headers: dict[str, str]
    status: int = 0
    answer_headers: dict[str, str] = field(default_factory=dict)

    @property
    def route(self) -> str:
        return self.path.split("?", 1)[0]


@dataclass
class Fault:
    """Answer requests whose path matches `pattern` with `kind`, `times` times (0: always)."""

    pattern: str
    # call | primary | primary429 | primary_message | spent | secondary | secondary429
    # | 500 | 502 | drop | cut | 404 | 401 | 403 | slow
    kind: str
    times: int = 1
    reset_in: float = 1.5
    retry_after: int = 1
    delay: float = 0.0
    action: Callable[[], None] | None = None  # kind "call": run it, then answer normally


@dataclass
class FakeRepo:
    full_name: str
    license: str | None = "MIT"
    stars: int = 0
    description: str = ""
    language: str = "Python"
    pulls: dict[int, dict[str, Any]] = field(default_factory=dict)
    files: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    issues: dict[int, dict[str, Any]] = field(default_factory=dict)


class GitHubServer:
    """Start with `with GitHubServer() as server:`; `server.api_url` is the base URL."""

    def __init__(self) -> None:
        handler = type("Handler", (_Handler,), {"github": self})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.repos: dict[str, FakeRepo] = {}
        self.log: list[LoggedRequest] = []
        self.faults: list[Fault] = []
        self.token: str | None = None  # when set, other tokens get 401 Bad credentials
        self.delay = 0.0  # seconds added to every answer
        self.rate_limit = 5000
        self.remaining = 5000
        self.limited_until = 0.0  # epoch seconds: primary limit in force until then
        self.window = 3600  # seconds until the rate limit window resets, in every answer
        self._lock = threading.Lock()
        self._clock = 0

    # --- data ---------------------------------------------------------------------------
    def add_repo(self, full_name: str, **fields: Any) -> FakeRepo:
        repo = FakeRepo(full_name, **fields)
        self.repos[full_name] = repo
        return repo

    def add_pull(
        self, full_name: str, number: int, *, title: str = "", body: str = "",
        author: str = "alice", merged: bool = True, files: list[dict[str, Any]] | None = None,
        updated: int | None = None,
    ) -> dict[str, Any]:
        """Add a closed PR; `updated` (minutes after 2024-01-01) defaults to a rising clock."""
        repo = self.repos[full_name]
        self._clock += 10
        minutes = self._clock if updated is None else updated
        owner = full_name.split("/")[0]
        pull = {
            "url": f"{self.api_url}/repos/{full_name}/pulls/{number}",
            "html_url": f"https://github.com/{full_name}/pull/{number}",
            "number": number, "state": "closed", "title": title or f"Change number {number}",
            "body": body, "user": {"login": author, "type": "User"},
            "created_at": stamp(minutes - 60), "updated_at": stamp(minutes),
            "closed_at": stamp(minutes), "merged_at": stamp(minutes) if merged else None,
            "merge_commit_sha": sha(full_name, number, "merge"), "draft": False, "labels": [],
            "head": {"ref": f"topic-{number}", "sha": sha(full_name, number, "head"),
                     "repo": {"full_name": f"{author}/{full_name.split('/')[1]}"}},
            "base": {"ref": "main", "sha": sha(full_name, number, "base"),
                     "repo": {"full_name": full_name, "owner": {"login": owner}}},
        }
        repo.pulls[number] = pull
        repo.files[number] = files if files is not None else [text_file(f"src/mod_{number}.py")]
        return pull

    def touch_pull(self, full_name: str, number: int, **changes: Any) -> None:
        """Edit a PR the way GitHub would: its `updated_at` becomes the newest."""
        self._clock += 10
        pull = self.repos[full_name].pulls[number]
        pull.update(changes)
        pull["updated_at"] = stamp(self._clock)

    def add_issue(self, full_name: str, number: int, title: str, body: str = "") -> None:
        self.repos[full_name].issues[number] = {
            "number": number, "title": title, "body": body, "state": "closed",
            "html_url": f"https://github.com/{full_name}/issues/{number}",
            "url": f"{self.api_url}/repos/{full_name}/issues/{number}",
            "user": {"login": "reporter", "type": "User"},
        }

    def fail(self, pattern: str, kind: str, times: int = 1, **options: Any) -> None:
        self.faults.append(Fault(pattern, kind, times, **options))

    # --- log ----------------------------------------------------------------------------
    def requests(self, pattern: str = "") -> list[LoggedRequest]:
        with self._lock:
            return [r for r in self.log if re.search(pattern, r.path)]

    def count(self, pattern: str = "") -> int:
        return len(self.requests(pattern))

    # --- lifecycle ----------------------------------------------------------------------
    def __enter__(self) -> GitHubServer:
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{PREFIX}"

    # --- answering ----------------------------------------------------------------------
    def _fault_for(self, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if re.search(fault.pattern, path):
                    if fault.times == 1:
                        self.faults.remove(fault)
                    elif fault.times > 1:
                        fault.times -= 1
                    return fault
        return None

    def answer(self, entry: LoggedRequest) -> tuple[int, dict[str, str], Any]:
        """(status, extra headers, JSON body or None); status 0 drops the connection."""
        now = time.time()
        if now < self.limited_until:
            return self._primary_limit()
        fault = self._fault_for(entry.path)
        if fault:
            if fault.kind == "slow":
                time.sleep(fault.delay)
            elif fault.kind == "call" and fault.action is not None:
                fault.action()
            elif fault.kind == "spent":  # a good answer that spends the last request
                self.limited_until = now + fault.reset_in
                status, headers, body = self._route(entry)
                return status, {**headers, **self._primary_limit()[1]}, body
            elif fault.kind == "primary":
                self.limited_until = now + fault.reset_in
                return self._primary_limit()
            elif fault.kind in ("secondary", "secondary429"):
                status = 403 if fault.kind == "secondary" else 429
                return status, {"Retry-After": str(fault.retry_after)}, {
                    "message": "You have exceeded a secondary rate limit. "
                               "Please wait a few minutes before you try again."}
            elif fault.kind == "drop":
                return 0, {}, None
            elif fault.kind == "cut":  # headers, then the connection closes mid-body
                return -1, {}, None
            elif fault.kind == "primary_message":  # the message only, no X-RateLimit-*
                return 403, {}, {"message": "API rate limit exceeded for 127.0.0.1."}
            elif fault.kind == "primary429":
                self.limited_until = now + fault.reset_in
                return 429, *self._primary_limit()[1:]
            elif fault.kind in ("500", "502"):
                return int(fault.kind), {}, {"message": "Server Error"}
            elif fault.kind == "404":
                return 404, {}, {"message": "Not Found"}
            elif fault.kind == "401":
                return 401, {}, {"message": "Bad credentials"}
            elif fault.kind == "403":
                return 403, {}, {"message": "Resource not accessible by personal access token"}
        if self.token is not None:
            sent = entry.headers.get("Authorization", "")
            if sent != f"token {self.token}":
                return 401, {}, {"message": "Bad credentials"}
        return self._route(entry)

    def _primary_limit(self) -> tuple[int, dict[str, str], Any]:
        return 403, {"X-RateLimit-Remaining": "0",
                     "X-RateLimit-Reset": str(int(self.limited_until) + 1)}, {
            "message": "API rate limit exceeded for 127.0.0.1."}

    def _route(self, entry: LoggedRequest) -> tuple[int, dict[str, str], Any]:
        parts = urlsplit(entry.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        match = re.fullmatch(r"/repos/([^/]+/[^/]+)(/.*)?", parts.path)
        repo = self.repos.get(match.group(1)) if match else None
        if repo is None:
            return 404, {}, {"message": "Not Found"}
        rest = match.group(2) or ""
        if rest == "":
            return 200, {}, self._repo_json(repo)
        if rest == "/pulls":
            pulls = sorted(repo.pulls.values(), key=lambda p: p["updated_at"], reverse=True)
            if query.get("state", "open") == "open":
                pulls = []
            return self._page(entry, parts.path, query, pulls)
        found = re.fullmatch(r"/pulls/(\d+)(/files)?", rest)
        if found and int(found.group(1)) in repo.pulls:
            number = int(found.group(1))
            if found.group(2):
                return self._page(entry, parts.path, query, repo.files[number])
            return 200, {}, self._full_pull(repo, number)
        found = re.fullmatch(r"/issues/(\d+)", rest)
        if found and int(found.group(1)) in repo.issues:
            return 200, {}, repo.issues[int(found.group(1))]
        return 404, {}, {"message": "Not Found"}

    def _repo_json(self, repo: FakeRepo) -> dict[str, Any]:
        owner, name = repo.full_name.split("/")
        license = None
        if repo.license:
            license = {"key": repo.license.lower(), "spdx_id": repo.license,
                       "name": f"{repo.license} License"}
        return {
            "id": int(sha(repo.full_name)[:6], 16), "name": name, "full_name": repo.full_name,
            "owner": {"login": owner, "type": "Organization"}, "private": False,
            "url": f"{self.api_url}/repos/{repo.full_name}",
            "html_url": f"https://github.com/{repo.full_name}", "description": repo.description,
            "language": repo.language, "stargazers_count": repo.stars, "license": license,
            "default_branch": "main",
        }

    def _full_pull(self, repo: FakeRepo, number: int) -> dict[str, Any]:
        files = repo.files[number]
        return {**repo.pulls[number], "merged": repo.pulls[number]["merged_at"] is not None,
                "additions": sum(f["additions"] for f in files),
                "deletions": sum(f["deletions"] for f in files),
                "changed_files": len(files), "commits": 1}

    def _page(
        self, entry: LoggedRequest, path: str, query: dict[str, str], items: list[Any]
    ) -> tuple[int, dict[str, str], Any]:
        per_page = min(int(query.get("per_page", 30)), 100)
        page = int(query.get("page", 1))
        last = max(1, -(-len(items) // per_page))
        headers = {}
        links = []
        for rel, number in (("next", page + 1), ("last", last)):
            if number <= last and (rel == "last" or page < last):
                link_query = urlencode({**query, "page": number})
                links.append(f'<{self.api_url}{path}?{link_query}>; rel="{rel}"')
        if links and page < last:
            headers["Link"] = ", ".join(links)
        return 200, headers, items[(page - 1) * per_page:page * per_page]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    wbufsize = 1 << 16  # headers and body leave in one write; handle_one_request flushes
    github: GitHubServer

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        server = self.github
        path = self.path[len(PREFIX):] if self.path.startswith(PREFIX) else self.path
        entry = LoggedRequest(time.monotonic(), time.time(), "GET", path,
                              dict(self.headers.items()))
        with server._lock:
            server.log.append(entry)
        if server.delay:
            time.sleep(server.delay)
        status, headers, body = server.answer(entry)
        entry.status = status
        if status == 0:
            self.close_connection = True
            return
        if status == -1:
            self.close_connection = True
            self.send_response(200)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", "5000")
            self.end_headers()
            self.wfile.write(b'[{"number": 1, ')
            return
        payload = json.dumps(body).encode()
        etag = f'W/"{hashlib.sha1(payload).hexdigest()}"'
        if status == 200 and self.headers.get("If-None-Match") == etag:
            status = entry.status = 304
        headers.setdefault("X-RateLimit-Limit", str(server.rate_limit))
        if status != 304 and "X-RateLimit-Remaining" not in headers:
            server.remaining = max(0, server.remaining - 1)  # a 304 is free on GitHub
        headers.setdefault("X-RateLimit-Remaining", str(server.remaining))
        headers.setdefault("X-RateLimit-Reset", str(int(time.time() + server.window)))
        entry.answer_headers = headers
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        if status == 200:
            self.send_header("ETag", etag)
        if status == 304:
            self.send_header("ETag", etag)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def text_file(path: str, *, status: str = "modified", lines: int = 3,
              previous: str = "") -> dict[str, Any]:
    """A pull file entry with a text patch adding `lines` lines and removing one."""
    added = "".join(f"+line {i} of {path}\n" for i in range(lines))
    patch = f"@@ -1,2 +1,{lines + 1} @@\n context\n-old line\n{added}".rstrip("\n")
    deletions = 1
    if status == "added":
        patch = f"@@ -0,0 +1,{lines} @@\n{added}".rstrip("\n")
        deletions = 0
    entry = {"sha": sha(path), "filename": path, "status": status,
             "additions": lines, "deletions": deletions, "changes": lines + deletions,
             "patch": patch}
    if previous:
        entry["previous_filename"] = previous
    return entry


def binary_file(path: str, *, status: str = "modified") -> dict[str, Any]:
    """A pull file entry without `patch`, as GitHub lists binary or huge files."""
    return {"sha": sha(path), "filename": path, "status": status,
            "additions": 0, "deletions": 0, "changes": 0}
