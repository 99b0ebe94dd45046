"""The HTTP side of GitHub's REST API (or GitHub Enterprise, or any server that speaks
it), through PyGithub's own requester.

`GitHubClient` owns the HTTP policy: it waits out primary rate limits (sending nothing
meanwhile), honours `Retry-After`, retries 5xx answers and dropped connections with
exponential backoff, counts requests and stops at a cap. It uses PyGithub's own
requester (auth, base URL, error types); the token is only ever inside PyGithub's
auth object.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import requests
from github import Auth, Github, GithubException
from github.Requester import Requester

from prsynth.errors import BudgetSpent, ConfigError, SourceError
from prsynth.text.redact import masked_url

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.github.com"
ANONYMOUS_NOTE = (
    "GITHUB_TOKEN is not set: crawling anonymously, at GitHub's limit of 60 requests an hour"
)
PER_PAGE = 100


class RequestBudgetSpent(BudgetSpent):
    """The run reached --max-requests; what was fetched so far is stored."""

    exit_code = 3


class GitHubUnavailable(SourceError):
    """Requests kept failing (5xx, dropped connections, rate limits) past the retry budget."""


@dataclass
class RequestBudget:
    """A run's cap on API requests (0: none), shared by every client of the run."""

    limit: int = 0
    used: int = 0

    def take(self) -> None:
        if self.limit and self.used >= self.limit:
            raise RequestBudgetSpent(
                f"stopped after {self.used} API requests (--max-requests); "
                "everything fetched is stored, re-run to continue"
            )
        self.used += 1


@dataclass
class RetryPolicy:
    """How hard to try: retries per request, failures per repository, waits in seconds."""

    max_retries: int = 5
    max_failures: int = 20
    backoff: float = 1.0  # first wait after a 5xx or dropped connection; doubles each time
    secondary_wait: float = 60.0  # a secondary limit without Retry-After: GitHub says >= 1 min
    max_wait: float = 3900.0  # the longest primary-limit wait (GitHub's window is an hour)


@dataclass
class Response:
    status: int
    headers: dict[str, Any]
    data: Any

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def etag(self) -> str:
        return str(self.headers.get("etag", ""))


class ResponseCache(Protocol):
    def cached_http_response(self, url: str) -> tuple[str, Any]: ...

    def cache_http_response(self, url: str, etag: str, body: Any) -> None: ...


def check_api_url(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"API URL {masked_url(url)!r} is not an http(s) URL; use e.g. https://api.github.com"
            " or https://HOST/api/v3"
        )
    return url


class GitHubClient:
    """PyGithub's requester with prsynth's rate-limit, retry and request-budget policy."""

    def __init__(
        self,
        api_url: str = DEFAULT_API_URL,
        token: str | None = None,
        *,
        budget: RequestBudget | None = None,
        policy: RetryPolicy | None = None,
        notify: Callable[[str], None] | None = None,
        timeout: int = 30,
    ) -> None:
        self.api_url = check_api_url(api_url or DEFAULT_API_URL).rstrip("/")
        self.anonymous = not token
        self.github = Github(
            base_url=self.api_url, auth=Auth.Token(token) if token else None,
            per_page=PER_PAGE, retry=None, timeout=timeout,
            seconds_between_requests=None, seconds_between_writes=None,
        )
        self.policy = policy or RetryPolicy()
        self.budget = budget or RequestBudget()
        self.notify = notify or (lambda message: log.warning("%s", message))
        self.requests = 0
        self.failures = 0  # transient failures since `start_repository`
        self.remaining: int | None = None
        self.reset_at = 0.0

    @property
    def requester(self) -> Requester:
        return self.github.requester

    def start_repository(self) -> None:
        self.failures = 0

    def get(self, url: str, params: dict[str, Any] | None = None, etag: str = "") -> Response:
        """GET `url` (relative to the API or absolute), following prsynth's retry policy."""
        attempt = waits = 0
        while True:
            self._wait_if_spent()
            self.budget.take()
            self.requests += 1
            headers = {"If-None-Match": etag} if etag else {}
            try:
                status, answer, body = self.requester.requestJson("GET", url, params, headers)
            except (requests.ConnectionError, requests.Timeout,
                    requests.exceptions.ChunkedEncodingError) as exc:
                host = urllib.parse.urlsplit(masked_url(self.api_url)).netloc
                problem = f"connection to {host} failed ({exc.__class__.__name__})"
            else:
                self._note_rate_limit(answer)
                data = _json(body)
                if status < 300 or status == 304:
                    return Response(status, answer, data)
                problem = self._problem(status, answer, data)
                if problem == "primary":
                    waits += 1
                    if waits > self.policy.max_retries:
                        raise GitHubUnavailable(
                            f"{_path(url)}: the rate limit did not reset after {waits} waits")
                    continue
            attempt += 1
            self.failures += 1
            if attempt > self.policy.max_retries or self.failures > self.policy.max_failures:
                raise GitHubUnavailable(
                    f"{_path(url)}: {problem}; gave up after {attempt} attempts"
                )
            if problem.startswith("secondary"):
                asked = _retry_after(answer)
                wait = asked or self.policy.secondary_wait
                self.notify(f"GitHub secondary rate limit; waiting {wait:g} s"
                            + (" (Retry-After)" if asked else ""))
            else:
                wait = self.policy.backoff * 2 ** (attempt - 1)
                log.info("%s: %s; retrying in %.1f s", _path(url), problem, wait)
            time.sleep(wait)

    def _problem(self, status: int, headers: dict[str, Any], data: Any) -> str:
        """Classify an error answer; raise PyGithub's exception for the ones not worth retrying."""
        message = data.get("message", "") if isinstance(data, dict) else ""
        # A proxy or an older GitHub Enterprise may say "API rate limit exceeded" without
        # the X-RateLimit headers: that is the primary limit too.
        if status in (403, 429) and (str(headers.get("x-ratelimit-remaining")) == "0"
                                     or Requester.isPrimaryRateLimitError(message)):
            self.remaining = 0
            self._wait_if_spent(force=True)
            return "primary"
        if status == 429 or (status == 403 and (
                "retry-after" in headers or Requester.isSecondaryRateLimitError(message))):
            return f"secondary rate limit (HTTP {status})"
        if status >= 500:
            return f"HTTP {status}"
        raise Requester.createException(status, headers, data)

    def _note_rate_limit(self, headers: dict[str, Any]) -> None:
        try:
            self.remaining = int(headers["x-ratelimit-remaining"])
            self.reset_at = float(headers["x-ratelimit-reset"])
        except (KeyError, ValueError):
            pass

    def _wait_if_spent(self, force: bool = False) -> None:
        """With the primary limit spent, sleep until it resets; no request goes out meanwhile."""
        if self.remaining != 0:
            return
        wait = self.reset_at - time.time()
        if wait <= 0 and not force:
            return
        wait = max(wait, self.policy.backoff)
        if wait > self.policy.max_wait:
            raise GitHubUnavailable(
                f"the rate limit resets only in {wait:.0f} s, later than this run waits"
                f" ({self.policy.max_wait:.0f} s)"
            )
        until = dt.datetime.fromtimestamp(time.time() + wait, dt.UTC).strftime("%H:%M:%S")
        self.notify(f"GitHub rate limit reached; waiting {wait:.0f} s until it resets "
                    f"at {until} UTC")
        time.sleep(wait)
        self.remaining = None


def iso_time(value: dt.datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _json(body: str) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return {"message": body[:200]}


def expect_json(kind: type, data: Any, url: str) -> Any:
    """GitHub answers JSON objects and lists; anything else (a proxy's HTML page) is an error."""
    if not isinstance(data, kind) or (kind is list and not all(isinstance(x, dict) for x in data)):
        raise SourceError(
            f"{_path(url)}: the server's answer is not GitHub API JSON; check --api-url"
        )
    return data


def next_link(header: str) -> str:
    for part in header.split(","):
        match = re.search(r'<([^>]+)>\s*;\s*rel="next"', part)
        if match:
            return match.group(1)
    return ""


def _retry_after(headers: dict[str, Any]) -> float:
    try:
        return float(headers.get("retry-after", 0))
    except ValueError:
        return 0.0


def _path(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url).split("?", 1)[0]


def http_reason(exc: Exception) -> str:
    if isinstance(exc, GithubException):
        message = exc.data.get("message", "") if isinstance(exc.data, dict) else ""
        return f"HTTP {exc.status}" + (f" {message}" if message else "")
    return str(exc)
