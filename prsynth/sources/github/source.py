"""One GitHub repository as a `Source`: an incremental pass over its PRs.

PyGithub's types and exceptions stay inside `prsynth.sources.github`; what leaves is
PR records and `PrsynthError`s.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterator, Sequence

from github import GithubException
from github.PullRequest import PullRequest as GithubPull

from prsynth.crawl.filters import DropBots, PullRequestFilter
from prsynth.errors import ConfigError, SourceError
from prsynth.progress import Progress
from prsynth.records import PullRequest, check_repo_name, is_bot
from prsynth.sources.base import CrawlReport
from prsynth.sources.github.client import (
    DEFAULT_API_URL,
    GitHubClient,
    RequestBudget,
    RetryPolicy,
    iso_time,
)
from prsynth.sources.github.reader import RepoInfo, RepositoryReader
from prsynth.store import Store, fingerprint
from prsynth.store.github import GitHubCursor
from prsynth.text.redact import masked_url


def github_client(
    api_url: str = "",
    *,
    budget: RequestBudget | None = None,
    policy: RetryPolicy | None = None,
    notify: Callable[[str], None] | None = None,
) -> GitHubClient:
    """A client with the token from $GITHUB_TOKEN (the only place it is read)."""
    token = os.environ.get("GITHUB_TOKEN", "").strip() or None
    return GitHubClient(api_url or DEFAULT_API_URL, token, budget=budget, policy=policy,
                        notify=notify)


def since_time(value: str) -> str:
    """--since as the ISO form GitHub uses, so it compares as a string."""
    if not value:
        return ""
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(
            f"--since {value!r} is not a date; use YYYY-MM-DD or an ISO 8601 time"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return iso_time(parsed)


class GitHubSource:
    """The merged PRs of one repository, most recently updated first, down to the cursor.

    A PR stored (or, under the same filters, dropped) at its current `updated_at` is
    not fetched again. The cursor moves only when a pass reached its end, so a pass cut
    short (kill, --limit, --max-requests, failures) is finished by the next run.
    """

    store_batch = 1  # PRs per transaction (sources.base.Source)

    def __init__(self, client: GitHubClient, repo: str, *, since: str = "",
                 max_diff_bytes: int = 200_000) -> None:
        self.client, self.name = client, repo
        self.since = since_time(since)
        self.max_diff_bytes = max_diff_bytes
        self.complete = False
        self.requests_before: int | None = None  # set when the pass starts

    def pull_requests(
        self, store: Store, report: CrawlReport, filters: Sequence[PullRequestFilter],
        progress: Progress,
    ) -> Iterator[PullRequest]:
        self.requests_before = self.client.requests
        check_repo_name(self.name)
        self.client.start_repository()
        self.reader = RepositoryReader(self.client, self.name, cache=store,
                                       max_diff_bytes=self.max_diff_bytes)
        # Under other filters, PRs dropped before may now be kept: look at them again.
        self.filters = fingerprint([f"{type(f).__name__}{vars(f)}" for f in filters])
        cursor = store.github_cursor(self.name)
        if cursor is not None and (cursor.since > self.since or cursor.filters != self.filters):
            cursor = None  # it covers less history, or other filters, than this run asks for
        self.cursor = cursor
        self.stop_before = max(cursor.updated_at if cursor else "", self.since)
        self.seen = store.github_seen(self.name)
        self.known = store.pr_ids(self.name)
        self.skip_bot_files = any(isinstance(f, DropBots) for f in filters)
        self.versions: dict[str, str] = {}
        self.newest = cursor.updated_at if cursor else ""
        self.first_etag = ""
        try:
            self.info = self.reader.repository()
            store.put_repo(self.name, license=self.info.license, stars=self.info.stars,
                           description=self.info.description, language=self.info.language)
            yield from self._changed_prs(store, report)
        except GithubException as exc:
            raise SourceError(self._error(exc)) from None

    def stored(self, store: Store, pr: PullRequest) -> None:
        store.mark_github_seen(pr.id, self.name, self.versions[pr.id], self.filters)
        # A PR updated mid-pass moves to the top and pushes the others down a place,
        # so the next page can list one already handled: it is skipped, not fetched.
        self.seen[pr.id] = (self.versions[pr.id], self.filters)

    def finish(self, store: Store, report: CrawlReport, *, complete: bool) -> None:
        if self.requests_before is None:
            return
        report.requests = self.client.requests - self.requests_before
        report.rate_limit_left = self.client.remaining
        if complete and self.complete:
            store.set_github_cursor(self.name, GitHubCursor(
                updated_at=self.newest, since=self.cursor.since if self.cursor else self.since,
                list_etag=self.first_etag, filters=self.filters))

    def _changed_prs(self, store: Store, report: CrawlReport) -> Iterator[PullRequest]:
        pages = self.reader.pull_pages(etag=self.cursor.list_etag if self.cursor else "")
        for page in pages:
            if page.not_modified:
                return  # nothing changed since the last complete pass: the cursor stands
            self.first_etag = self.first_etag or page.etag
            for pull in page.pulls:
                updated = iso_time(pull.updated_at)
                self.newest = max(self.newest, updated)
                if updated < self.stop_before:
                    self.complete = True
                    return
                pr = self._changed_pr(store, report, pull, updated)
                if pr is not None:
                    yield pr
        self.complete = True

    def _changed_pr(self, store: Store, report: CrawlReport, pull: GithubPull,
                    updated: str) -> PullRequest | None:
        pr_id = f"{self.name}#{pull.number}"
        version, filters = self.seen.get(pr_id, ("", ""))
        if version == updated and (pr_id in self.known or filters == self.filters):
            report.unchanged += 1
            return None
        merged = iso_time(pull.merged_at)
        if merged and merged < self.since:
            return None
        author = pull.user.login if pull.user else ""
        with_files = bool(merged) and not (self.skip_bot_files and is_bot(author))
        stored = store.get_pr(pr_id) if pr_id in self.known else None
        pr = self.reader.pull_request(pull, with_files=with_files, stored=stored)
        info: RepoInfo = self.info
        pr.license, pr.stars = info.license, info.stars
        pr.repo_description, pr.repo_language = info.description, info.language
        self.versions[pr.id] = updated
        return pr

    def _error(self, exc: GithubException) -> str:
        """A one-line message for an answer that retrying will not fix."""
        repo, client = self.name, self.client
        if exc.status == 404:
            hint = "check the name" + (", or set GITHUB_TOKEN if it is private"
                                       if client.anonymous else " and the token's access")
            return f"repository {repo} not found at {masked_url(client.api_url)} (404); {hint}"
        if exc.status == 401:
            return f"repository {repo}: GitHub refused the credentials (401); check GITHUB_TOKEN"
        message = exc.data.get("message", "") if isinstance(exc.data, dict) else ""
        return (f"repository {repo}: access denied (HTTP {exc.status}: {message});"
                " check the token's access")
