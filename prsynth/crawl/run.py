"""Crawling: a source's PRs, through the filters, into the store, one transaction each."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from github import GithubException
from github.PullRequest import PullRequest as GithubPull

from prsynth.config import Config, SourceConfig
from prsynth.crawl.filters import (
    DropBots,
    DropUnmerged,
    PullRequestFilter,
    default_filters,
    first_drop_reason,
)
from prsynth.errors import ConfigError, PartialFailure, PrsynthError, SourceError
from prsynth.records import PullRequest, Unreadable, check_repo_name, is_bot
from prsynth.sources.dumps import BadLine, DumpSource
from prsynth.sources.github.client import (
    ANONYMOUS_NOTE,
    DEFAULT_API_URL,
    GitHubClient,
    GitHubSource,
    RequestBudget,
    RequestBudgetSpent,
    RetryPolicy,
    check_api_url,
)
from prsynth.sources.local_git import LocalGitSource
from prsynth.store import Store, fingerprint
from prsynth.store.github import GitHubCursor
from prsynth.store.lock import store_lock
from prsynth.store.prs import pr_row
from prsynth.text.diffs import clean_diff
from prsynth.text.redact import masked_url, redact_pr

log = logging.getLogger(__name__)
Progress = Callable[[int, int], None]


@dataclass
class CrawlReport:
    """What one source run did; `skipped` counts drops by reason."""

    source: str
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    bad_lines: list[BadLine] = field(default_factory=list)
    redacted: int = 0  # stored PRs in which secrets were replaced by placeholders
    error: str = ""
    exit_code: int = 0  # of the error: 2 bad input, 3 request budget spent, else 1
    requests: int = 0  # API requests this source used
    rate_limit_left: int | None = None

    @property
    def failed(self) -> bool:
        return bool(self.error)

    def to_dict(self) -> dict[str, object]:
        return {
            "source": self.source, "new": self.new, "updated": self.updated,
            "unchanged": self.unchanged, "skipped": dict(sorted(self.skipped.items())),
            "redacted": self.redacted,
            "bad_lines": [{"line": b.line, "reason": b.reason} for b in self.bad_lines],
            "error": self.error, "requests": self.requests,
            "rate_limit_left": self.rate_limit_left,
        }

    def summary(self) -> str:
        skipped = ", ".join(f"{n} {r}" for r, n in sorted(self.skipped.items())) or "none"
        line = f"{self.source}: {self.new} new, {self.updated} updated, skipped: {skipped}"
        if self.bad_lines:
            line += f", {len(self.bad_lines)} bad lines"
        if self.redacted:
            line += f", secrets redacted in {self.redacted}"
        if self.requests:
            left = "unknown" if self.rate_limit_left is None else self.rate_limit_left
            line += f"; {self.requests} requests, rate limit {left} left"
        return line + (f"; FAILED: {self.error}" if self.error else "")


def crawl_git(
    store: Store,
    path: str | Path,
    repo: str,
    *,
    limit: int = 0,
    since: str = "",
    include_bots: bool = False,
    max_diff_bytes: int = 200_000,
    filters: list[PullRequestFilter] | None = None,
    progress: Progress | None = None,
) -> CrawlReport:
    """Store merged PRs found in a local clone; PRs already stored are not read again."""
    source = LocalGitSource(path, repo, since=since, max_diff_bytes=max_diff_bytes)
    report = CrawlReport(source=repo)
    chain = filters if filters is not None else default_filters(include_bots=include_bots)
    known = store.pr_ids(repo)
    report.unchanged = len(known)
    prs = source.pull_requests(skip=known, progress=progress)
    store_prs(store, prs, chain, report, limit=limit, stage_item="crawl")
    if report.new:
        store.put_repo(repo, license=source.license)
    return report


def crawl_import(
    store: Store,
    path: str | Path,
    *,
    include_bots: bool = False,
    max_diff_bytes: int = 200_000,
    filters: list[PullRequestFilter] | None = None,
) -> CrawlReport:
    """Load PR records from a JSONL dump; records already stored are kept as they are."""
    source = DumpSource(path, max_diff_bytes=max_diff_bytes)
    report = CrawlReport(source=str(path))
    chain = filters if filters is not None else default_filters(include_bots=include_bots)
    known = store.pr_ids()
    repos: dict[str, PullRequest] = {}
    first_line: dict[str, int] = {}

    def fresh_prs() -> Iterable[PullRequest]:
        for entry in source.records():
            if not isinstance(entry, BadLine) and entry[1].id in first_line:
                entry = BadLine(entry[0], f"{entry[1].id} was already on line "
                                f"{first_line[entry[1].id]}; the first is kept")
            if isinstance(entry, BadLine):
                report.bad_lines.append(entry)
                log.warning("%s line %d skipped: %s", path, entry.line, entry.reason)
                continue
            number, item = entry
            first_line[item.id] = number
            if item.id in known:
                report.unchanged += 1
            else:
                repos.setdefault(item.repo, item)
                yield item

    store_prs(store, fresh_prs(), chain, report, stage_item="crawl")
    for name, pr in repos.items():
        store.put_repo(name, license=pr.license, stars=pr.stars,
                       description=pr.repo_description, language=pr.repo_language)
    return report


def store_prs(
    store: Store,
    prs: Iterable[PullRequest | Unreadable],
    filters: list[PullRequestFilter],
    report: CrawlReport,
    *,
    limit: int = 0,
    stage_item: str,
    known: set[str] | None = None,
    on_stored: Callable[[PullRequest], None] | None = None,
) -> None:
    """Filter and store PRs one transaction each, counting every drop by its reason.

    A PR in `known` counts as updated, not new; `on_stored` runs inside the PR's
    transaction (a source's bookkeeping commits with the PR or not at all).
    """
    for pr in prs:
        if isinstance(pr, Unreadable):
            report.skipped[pr.reason] += 1
            store.record_drop(stage_item, pr.id, pr.reason, repo=pr.repo)
            continue
        pr.diff = clean_diff(pr.diff)
        reason = first_drop_reason(pr, filters)
        with store.transaction():
            try:
                clean = None if reason else redact_pr(pr)
                row = None if clean is None else pr_row(clean)
            except (ValueError, LookupError, TypeError) as exc:
                # A record no parser can read is dropped with its reason, never the crawl.
                log.warning("%s dropped: unreadable (%s: %s)", pr.id, type(exc).__name__, exc)
                reason = "unreadable"
            if reason:
                report.skipped[reason] += 1
                store.record_drop(stage_item, pr.id, reason, repo=pr.repo)
            else:
                if clean != pr:
                    report.redacted += 1
                if store.put_pr(clean, replace=True, row=row):
                    if known is not None and pr.id in known:
                        report.updated += 1
                    else:
                        report.new += 1
            if on_stored:
                on_stored(pr)
        if limit and report.new >= limit:
            break


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


def crawl_github(
    store: Store,
    repos: Sequence[str],
    *,
    client: GitHubClient,
    limit: int = 0,
    since: str = "",
    include_bots: bool = False,
    max_diff_bytes: int = 200_000,
    filters: list[PullRequestFilter] | None = None,
    on_report: Callable[[CrawlReport], None] | None = None,
) -> list[CrawlReport]:
    """Crawl each repository in turn; one failing repository does not stop the others."""
    chain = filters if filters is not None else default_filters(include_bots=include_bots)
    chain = [DropUnmerged(), *chain]
    since_iso = _since(since)
    reports = []
    spent = ""
    for repo in repos:
        report = CrawlReport(source=repo)
        if spent:
            report.error, report.exit_code = f"not crawled: {spent}", 3
        else:
            before = client.requests
            try:
                _crawl_github_repo(store, client, repo, report, limit=limit, since=since_iso,
                                   chain=chain, max_diff_bytes=max_diff_bytes)
            except RequestBudgetSpent as exc:
                spent = str(exc)
                report.error, report.exit_code = spent, exc.exit_code
            except PrsynthError as exc:
                report.error, report.exit_code = str(exc), exc.exit_code
            except GithubException as exc:
                report.error, report.exit_code = _github_error(repo, client, exc), 1
            report.requests = client.requests - before
            report.rate_limit_left = client.remaining
        reports.append(report)
        if on_report:
            on_report(report)
    return reports


def _crawl_github_repo(
    store: Store,
    client: GitHubClient,
    repo: str,
    report: CrawlReport,
    *,
    limit: int,
    since: str,
    chain: list[PullRequestFilter],
    max_diff_bytes: int,
) -> None:
    check_repo_name(repo)
    client.start_repository()
    source = GitHubSource(client, repo, cache=store, max_diff_bytes=max_diff_bytes)
    RepositoryPass(store, source, report, since=since, chain=chain).run(limit=limit)


class RepositoryPass:
    """One pass over a repository's PRs, most recently updated first, down to the cursor.

    A PR stored (or, under the same filters, dropped) at its current `updated_at` is
    not fetched again. The cursor moves only when a pass reached its end, so a pass cut
    short (kill, --limit, --max-requests, failures) is finished by the next run.
    """

    def __init__(
        self, store: Store, source: GitHubSource, report: CrawlReport, *, since: str,
        chain: list[PullRequestFilter],
    ) -> None:
        self.store, self.source, self.report, self.since, self.chain = (
            store, source, report, since, chain)
        self.repo = source.repo
        # Under other filters, PRs dropped before may now be kept: look at them again.
        self.filters = fingerprint([f"{type(f).__name__}{vars(f)}" for f in chain])
        cursor = store.github_cursor(self.repo)
        if cursor is not None and (cursor.since > since or cursor.filters != self.filters):
            cursor = None  # it covers less history, or other filters, than this run asks for
        self.cursor = cursor
        self.stop_before = max(cursor.updated_at if cursor else "", since)
        self.seen = store.github_seen(self.repo)
        self.known = store.pr_ids(self.repo)
        self.skip_bot_files = any(isinstance(f, DropBots) for f in chain)
        self.versions: dict[str, str] = {}
        self.newest = cursor.updated_at if cursor else ""
        self.first_etag = ""
        self.complete = False

    def run(self, *, limit: int) -> None:
        info = self.source.repository()
        self.store.put_repo(self.repo, license=info.license, stars=info.stars,
                            description=info.description, language=info.language)
        self.info = info
        store_prs(self.store, self.changed_prs(), self.chain, self.report, limit=limit,
                  stage_item="crawl", known=self.known, on_stored=self.mark_seen)
        if self.complete:
            self.store.set_github_cursor(self.repo, GitHubCursor(
                updated_at=self.newest, since=self.cursor.since if self.cursor else self.since,
                list_etag=self.first_etag, filters=self.filters))

    def changed_prs(self) -> Iterator[PullRequest]:
        for page in self.source.pull_pages(etag=self.cursor.list_etag if self.cursor else ""):
            if page.not_modified:
                return  # nothing changed since the last complete pass
            self.first_etag = self.first_etag or page.etag
            for pull in page.pulls:
                updated = _iso(pull.updated_at)
                self.newest = max(self.newest, updated)
                if updated < self.stop_before:
                    self.complete = True
                    return
                pr = self.changed_pr(pull, updated)
                if pr is not None:
                    yield pr
        self.complete = True

    def changed_pr(self, pull: GithubPull, updated: str) -> PullRequest | None:
        pr_id = f"{self.repo}#{pull.number}"
        version, filters = self.seen.get(pr_id, ("", ""))
        if version == updated and (pr_id in self.known or filters == self.filters):
            self.report.unchanged += 1
            return None
        merged = _iso(pull.merged_at)
        if merged and merged < self.since:
            return None
        author = pull.user.login if pull.user else ""
        with_files = bool(merged) and not (self.skip_bot_files and is_bot(author))
        stored = self.store.get_pr(pr_id) if pr_id in self.known else None
        pr = self.source.pull_request(pull, with_files=with_files, stored=stored)
        pr.license, pr.stars = self.info.license, self.info.stars
        pr.repo_description, pr.repo_language = self.info.description, self.info.language
        self.versions[pr.id] = updated
        return pr

    def mark_seen(self, pr: PullRequest) -> None:
        self.store.mark_github_seen(pr.id, self.repo, self.versions[pr.id], self.filters)
        # A PR updated mid-pass moves to the top and pushes the others down a place,
        # so the next page can list one already handled: it is skipped, not fetched.
        self.seen[pr.id] = (self.versions[pr.id], self.filters)


def _github_error(repo: str, client: GitHubClient, exc: GithubException) -> str:
    """A one-line message for an answer that retrying will not fix."""
    if exc.status == 404:
        hint = "check the name" + (", or set GITHUB_TOKEN if it is private"
                                   if client.anonymous else " and the token's access")
        return f"repository {repo} not found at {masked_url(client.api_url)} (404); {hint}"
    if exc.status == 401:
        return f"repository {repo}: GitHub refused the credentials (401); check GITHUB_TOKEN"
    message = exc.data.get("message", "") if isinstance(exc.data, dict) else ""
    return (f"repository {repo}: access denied (HTTP {exc.status}: {message});"
            " check the token's access")


def _since(value: str) -> str:
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
    return _iso(parsed)


def _iso(value: dt.datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def crawl_lock(store_path: str | Path) -> contextlib.AbstractContextManager[None]:
    """One crawl at a time on a store; a second one fails at once (see `store_lock`)."""
    return store_lock(store_path, "crawl")


SOURCE_KINDS = ("github", "git", "import")


def check_sources(sources: Sequence[SourceConfig]) -> None:
    """Refuse a config whose [[sources]] cannot run, naming the entry and key."""
    if not sources:
        raise ConfigError(
            "the config has no [[sources]] entries; add some (see README 'Scheduled crawls')"
            " or use `prsynth crawl github|git|import`"
        )
    for index, source in enumerate(sources):
        where = f"sources[{index}]"
        if source.kind not in SOURCE_KINDS:
            raise ConfigError(
                f"config key '{where}.kind' must be one of {', '.join(SOURCE_KINDS)},"
                f" got {source.kind!r}"
            )
        if source.kind == "github" and not (source.repos or source.repo):
            raise ConfigError(f"config {where}: a github source needs 'repos' (OWNER/NAME list)")
        if source.api_url:
            check_api_url(source.api_url)
        if source.kind == "git" and not (source.path and source.repo):
            raise ConfigError(f"config {where}: a git source needs 'path' and 'repo'")
        if source.kind == "import" and not source.path:
            raise ConfigError(f"config {where}: an import source needs 'path'")
        try:
            _since(source.since)
        except ConfigError:
            raise ConfigError(
                f"config key '{where}.since' is not a date ({source.since!r}); use YYYY-MM-DD"
            ) from None


def crawl_sources(
    store: Store,
    config: Config,
    *,
    max_requests: int = 0,
    notify: Callable[[str], None] | None = None,
    on_report: Callable[[CrawlReport], None] | None = None,
) -> list[CrawlReport]:
    """Run every [[sources]] entry of `config` with its filters, one report per repository."""
    check_sources(config.sources)
    check_api_url(config.github.api_url)
    budget = RequestBudget(max_requests or config.crawl.max_requests)
    settings = config.github
    policy = RetryPolicy(max_retries=settings.max_retries, max_failures=settings.max_failures,
                         backoff=settings.backoff, secondary_wait=settings.secondary_wait)
    clients: dict[str, GitHubClient] = {}
    reports: list[CrawlReport] = []
    for source in config.sources:
        chain = default_filters(
            include_bots=source.include_bots or config.crawl.include_bots,
            min_changed_lines=source.min_changed_lines,
            max_changed_lines=source.max_changed_lines,
            exclude_paths=source.exclude_paths, licenses=source.licenses,
        )
        if source.kind == "github":
            api_url = source.api_url or settings.api_url
            if api_url not in clients:
                clients[api_url] = github_client(api_url, budget=budget, policy=policy,
                                                 notify=notify)
                if clients[api_url].anonymous and len(clients) == 1 and notify:
                    notify(ANONYMOUS_NOTE)
            repos = [*source.repos, *([source.repo] if source.repo else [])]
            reports += crawl_github(
                store, repos, client=clients[api_url], limit=source.limit, since=source.since,
                max_diff_bytes=config.crawl.max_diff_bytes, filters=chain, on_report=on_report,
            )
            continue
        try:
            if source.kind == "git":
                report = crawl_git(store, source.path, source.repo, limit=source.limit,
                                   since=source.since, filters=chain,
                                   max_diff_bytes=config.crawl.max_diff_bytes)
            else:
                report = crawl_import(store, source.path, filters=chain,
                                      max_diff_bytes=config.crawl.max_diff_bytes)
        except PrsynthError as exc:
            report = CrawlReport(source=source.repo or source.path, error=str(exc),
                                 exit_code=exc.exit_code)
        reports.append(report)
        if on_report:
            on_report(report)
    return reports


def crawl_outcome(reports: Sequence[CrawlReport]) -> PrsynthError | None:
    """The error a run ends with (None: all done): 3 partly done, 2 all bad input, else 1."""
    failed = [r for r in reports if r.failed or r.bad_lines]
    if not failed:
        return None
    if len(failed) < len(reports) or any(r.exit_code == 3 or not r.failed for r in failed):
        return PartialFailure(
            f"{len(failed)} of {len(reports)} sources failed or were cut short;"
            " the rest is stored"
        )
    if len(failed) == 1:
        error = failed[0].error
    else:
        error = f"all {len(failed)} sources failed"
    if all(r.exit_code == 2 for r in failed):
        return ConfigError(error)
    return SourceError(error)
