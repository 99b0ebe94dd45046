"""Merged pull requests from GitHub's REST API (or GitHub Enterprise, or any server that
speaks it), through PyGithub.

Request economy: one list request per 100 PRs (sorted by `updated`, newest first, so
an incremental run stops at what it already knows) and one files request per merged
PR; the unified diff is assembled from the per-file patches, so the single-PR and
`.diff` endpoints are never called. Conditional requests (`If-None-Match` with stored
ETags) make an unchanged re-crawl cost 304s, which GitHub does not count.

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
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import requests
from github import Auth, Github, GithubException
from github.File import File
from github.PullRequest import PullRequest as GithubPull
from github.Repository import Repository
from github.Requester import Requester

from prsynth.errors import ConfigError, PrsynthError, SourceError
from prsynth.records import FileChange, PullRequest, is_bot
from prsynth.text.diffs import truncate_diff
from prsynth.text.redact import masked_url, redact_json

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.github.com"
ANONYMOUS_NOTE = (
    "GITHUB_TOKEN is not set: crawling anonymously, at GitHub's limit of 60 requests an hour"
)
PER_PAGE = 100
MAX_LINKED_ISSUES = 10
# GitHub's closing keywords: "fixes #12", "Closes: owner/repo#3", "resolved https://github.com/o/r/issues/4".
CLOSING = re.compile(
    r"\b(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?)\b:?\s+"
    r"(?:(?P<repo>[A-Za-z0-9][\w.-]*/[\w.-]+)#|#|https?://[^/\s]+/(?P<url_repo>[\w.-]+/[\w.-]+)"
    r"/issues/)(?P<number>\d+)\b",
    re.IGNORECASE,
)
STATUSES = {"added": "added", "removed": "removed", "renamed": "renamed", "copied": "added"}


class RequestBudgetSpent(PrsynthError):
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


@dataclass
class RepoInfo:
    name: str
    license: str = ""
    stars: int = 0
    description: str = ""
    language: str = ""


@dataclass
class PullPage:
    """One page of the PR list, newest update first; `etag` of the first page only."""

    pulls: list[GithubPull]
    etag: str = ""
    not_modified: bool = False


@dataclass
class GitHubSource:
    """PRs of one repository, read through `client`; `cache` keeps ETags and bodies."""

    client: GitHubClient
    repo: str
    cache: ResponseCache
    max_diff_bytes: int = 200_000
    issue_cache: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)

    def repository(self) -> RepoInfo:
        data = _expect(dict, self._cached_get(f"/repos/{self.repo}"), f"/repos/{self.repo}")
        repo = self.client.github.create_from_raw_data(Repository, data)
        spdx = repo.license.spdx_id if repo.license else ""
        return RepoInfo(
            name=self.repo, license="" if spdx in (None, "NOASSERTION") else spdx,
            stars=repo.stargazers_count or 0, description=repo.description or "",
            language=repo.language or "",
        )

    def pull_pages(self, etag: str = "") -> Iterator[PullPage]:
        """Closed PRs, most recently updated first, a page at a time (Link pagination)."""
        url = f"/repos/{self.repo}/pulls"
        params: dict[str, Any] | None = {
            "state": "closed", "sort": "updated", "direction": "desc", "per_page": PER_PAGE}
        first = True
        while url:
            response = self.client.get(url, params, etag=etag if first else "")
            if response.not_modified:
                yield PullPage([], etag=etag, not_modified=True)
                return
            pulls = [self.client.github.create_from_raw_data(GithubPull, raw, response.headers)
                     for raw in _expect(list, response.data, url)]
            url = _next_link(response.headers.get("link", ""))
            yield PullPage(pulls, response.etag if first else "")
            params, first = None, False

    def pull_request(
        self, pull: GithubPull, *, with_files: bool = True, stored: PullRequest | None = None,
    ) -> PullRequest:
        """The PR record of a listed PR: one files request (per 100 files), no other.

        A merged PR's files never change, so when `stored` is the same change (same head
        and merge commits) and only the title, body or labels were edited, its files and
        diff are re-used without a request.
        """
        author = pull.user.login if pull.user else ""
        record = PullRequest(
            repo=self.repo, number=pull.number, title=pull.title or "", body=pull.body or "",
            author=author, author_is_bot=is_bot(author) or _is_app(pull),
            merged_at=_iso(pull.merged_at), base_sha=pull.base.sha if pull.base else "",
            head_sha=pull.head.sha if pull.head else "", merge_sha=pull.merge_commit_sha or "",
            source="github", url=pull.html_url or "",
        )
        if not with_files:
            return record
        if stored is not None and stored.files and record.head_sha and (
                stored.head_sha, stored.merge_sha) == (record.head_sha, record.merge_sha):
            record.files, record.diff = stored.files, stored.diff
            record.diff_truncated = stored.diff_truncated
        else:
            files = self.files(pull.number)
            record.files = [_file_change(f) for f in files]
            diff = "".join(patch_section(f) for f in files)
            record.diff, record.diff_truncated = truncate_diff(diff, self.max_diff_bytes)
        record.additions = sum(f.additions for f in record.files)
        record.deletions = sum(f.deletions for f in record.files)
        record.linked_issues = self.linked_issues(record.body)
        return record

    def files(self, number: int) -> list[File]:
        url = f"/repos/{self.repo}/pulls/{number}/files"
        params: dict[str, Any] | None = {"per_page": PER_PAGE}
        files: list[File] = []
        while url:
            response = self.client.get(url, params)
            files += [self.client.github.create_from_raw_data(File, raw, response.headers)
                      for raw in _expect(list, response.data, url)]
            url, params = _next_link(response.headers.get("link", "")), None
        return files

    def linked_issues(self, body: str) -> list[dict[str, Any]]:
        """Issues the PR body says it closes, with title and body where they can be read."""
        found: list[tuple[str, int]] = []
        for match in CLOSING.finditer(body or ""):
            repo = match.group("repo") or match.group("url_repo") or self.repo
            key = (repo, int(match.group("number")))
            if key not in found:
                found.append(key)
        return [self._issue(repo, number) for repo, number in found[:MAX_LINKED_ISSUES]]

    def _issue(self, repo: str, number: int) -> dict[str, Any]:
        key = (repo, number)
        if key not in self.issue_cache:
            issue: dict[str, Any] = {
                "repo": repo, "number": number, "title": "", "body": "",
                "url": f"https://github.com/{repo}/issues/{number}"}
            try:
                data = self._cached_get(f"/repos/{repo}/issues/{number}")
                issue.update(title=data.get("title") or "", body=data.get("body") or "",
                             state=data.get("state") or "")
            except (GithubException, GitHubUnavailable) as exc:
                issue["error"] = _http_reason(exc)
            self.issue_cache[key] = issue
        return dict(self.issue_cache[key])

    def _cached_get(self, path: str) -> Any:
        """GET with If-None-Match from the store's cache; a 304 answers from the cache."""
        key = self.client.api_url + path
        etag, body = self.cache.cached_http_response(key)
        response = self.client.get(path, etag=etag if body is not None else "")
        if response.not_modified:
            return body
        # What is kept is redacted like everything else stored: no cache holds a secret.
        data = redact_json(response.data)
        if response.etag:
            self.cache.cache_http_response(key, response.etag, data)
        return data


def patch_section(file: File) -> str:
    """A git-style diff section for one pull file; a file without a patch is named only."""
    path, old = file.filename, file.previous_filename or file.filename
    lines = [f"diff --git a/{old} b/{path}\n"]
    if file.status == "added" or file.status == "copied":
        lines.append("new file mode 100644\n")
    elif file.status == "removed":
        lines.append("deleted file mode 100644\n")
    elif file.status == "renamed":
        lines.append(f"rename from {old}\nrename to {path}\n")
    patch = file.patch
    if not patch:
        if not _is_pure_rename(file):
            lines.append(f"Binary files a/{old} and b/{path} differ\n")
        return "".join(lines)
    lines.append("--- /dev/null\n" if file.status in ("added", "copied") else f"--- a/{old}\n")
    lines.append("+++ /dev/null\n" if file.status == "removed" else f"+++ b/{path}\n")
    lines.append(patch if patch.endswith("\n") else patch + "\n")
    return "".join(lines)


def _file_change(file: File) -> FileChange:
    return FileChange(
        path=file.filename, status=STATUSES.get(file.status, "modified"),
        additions=file.additions or 0, deletions=file.deletions or 0,
        previous_path=file.previous_filename or "",
        binary=not file.patch and not _is_pure_rename(file),
    )


def _is_pure_rename(file: File) -> bool:
    return file.status == "renamed" and not file.changes


def _is_app(pull: GithubPull) -> bool:
    return bool(pull.user) and pull.raw_data.get("user", {}).get("type") == "Bot"


def _iso(value: dt.datetime | None) -> str:
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


def _expect(kind: type, data: Any, url: str) -> Any:
    """GitHub answers JSON objects and lists; anything else (a proxy's HTML page) is an error."""
    if not isinstance(data, kind) or (kind is list and not all(isinstance(x, dict) for x in data)):
        raise SourceError(
            f"{_path(url)}: the server's answer is not GitHub API JSON; check --api-url"
        )
    return data


def _next_link(header: str) -> str:
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


def _http_reason(exc: Exception) -> str:
    if isinstance(exc, GithubException):
        message = exc.data.get("message", "") if isinstance(exc.data, dict) else ""
        return f"HTTP {exc.status}" + (f" {message}" if message else "")
    return str(exc)
