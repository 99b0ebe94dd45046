"""The crawl: for each source, its PRs through the filters and redaction into the store,
a transaction per PR or per batch of local PRs (docs/architecture.md, "Sources").

`crawl_source` is the one loop every source goes through; `crawl_all` runs a list of
sources so that one failing source does not stop the others. `crawl_git`,
`crawl_import` and `crawl_github` are the library forms of the `crawl` subcommands.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from prsynth.config import FiltersConfig
from prsynth.crawl.filters import (
    DropUnmerged,
    PullRequestFilter,
    default_filters,
    first_drop_reason,
)
from prsynth.crawl.recheck import recheck_stored
from prsynth.errors import BudgetSpent, ConfigError, PartialFailure, PrsynthError, SourceError
from prsynth.progress import Progress, quiet
from prsynth.records import REPO_NAME, PullRequest, Unreadable
from prsynth.sources.base import CrawlReport, Source
from prsynth.sources.dumps import DumpSource
from prsynth.sources.local_git import LocalGitSource
from prsynth.store import Store
from prsynth.store.prs import pr_row
from prsynth.text.diffs import clean_diff
from prsynth.text.personal import scrub_pr
from prsynth.text.redact import redact_pr

if TYPE_CHECKING:  # PyGithub takes ~0.5 s to import: only the GitHub paths load it
    from prsynth.sources.github.client import GitHubClient

log = logging.getLogger(__name__)


@dataclass
class CrawlJob:
    """One source with the filters its PRs go through and how many new ones to store."""

    source: Source
    filters: list[PullRequestFilter] = field(default_factory=default_filters)
    limit: int = 0  # new PRs to store at most (0: all)


def crawl_source(store: Store, job: CrawlJob, report: CrawlReport,
                 progress: Progress = quiet) -> None:
    """Filter, redact and store the source's PRs, `store_batch` per transaction, counting every
    drop by its reason on `report`. The source's own bookkeeping for a PR commits with
    it; its `finish` runs however the loop ends."""
    source, complete = job.source, False
    known = store.pr_ids()
    for repo in _repos_of(source, known):
        report.rechecked += recheck_stored(store, job.filters, repo)
    prs = source.pull_requests(store, report, job.filters, progress)
    try:
        # Filtering and redaction happen before the write lock is taken, each PR as the
        # source yields it (a git source diffs the next PRs meanwhile).
        while ready := [_prepared(pr, job.filters)
                        for pr in itertools.islice(prs, source.store_batch)]:
            with store.transaction():
                for pr, reason, clean, kept, row in ready:
                    _store_one(store, pr, reason, clean, kept, row, report, known)
                    if not isinstance(pr, Unreadable):
                        source.stored(store, pr)
                    if job.limit and report.new >= job.limit:
                        break
            if job.limit and report.new >= job.limit:
                break
        else:
            complete = True
    finally:
        source.finish(store, report, complete=complete)


def _repos_of(source: Source, known: set[str]) -> list[str]:
    """The repositories whose stored PRs this source's filters look at again: its own
    repository, or every stored repository for a dump (it may hold any)."""
    if REPO_NAME.match(source.name):
        return [source.name]
    return sorted({pr_id.split("#", 1)[0] for pr_id in known})


Prepared = tuple[PullRequest | Unreadable, str | None, PullRequest | None,
                 PullRequest | None, dict[str, object] | None]


def _prepared(pr: PullRequest | Unreadable, filters: list[PullRequestFilter]) -> Prepared:
    """(PR, drop reason, redacted PR, what is stored, its row): all work before the write
    lock. A record no parser can read is dropped as `unreadable`, never the crawl."""
    if isinstance(pr, Unreadable):
        return pr, pr.reason, None, None, None
    pr.diff = clean_diff(pr.diff)
    reason = first_drop_reason(pr, filters)
    if reason:
        return pr, reason, None, None, None
    try:
        clean = redact_pr(pr)
        kept = scrub_pr(clean)
        return pr, None, clean, kept, pr_row(kept)
    except (ValueError, LookupError, TypeError) as exc:
        log.warning("%s dropped: unreadable (%s: %s)", pr.id, type(exc).__name__, exc)
        return pr, "unreadable", None, None, None


def _store_one(store: Store, pr: PullRequest | Unreadable, reason: str | None,
               clean: PullRequest | None, kept: PullRequest | None,
               row: dict[str, object] | None, report: CrawlReport, known: set[str]) -> None:
    if reason or clean is None or kept is None:
        report.skipped[reason or "dropped"] += 1
        store.record_drop("crawl", pr.id, reason or "dropped", repo=pr.repo)
        return
    if clean != pr:
        report.redacted += 1
    if store.put_pr(kept, replace=True, row=row):
        if pr.id in known:
            report.updated += 1
        else:
            report.new += 1


def crawl_all(
    store: Store, jobs: Sequence[CrawlJob], *,
    on_report: Callable[[CrawlReport], None] | None = None, progress: Progress = quiet,
) -> list[CrawlReport]:
    """Crawl each job in turn. A failing source is recorded on its report and the next
    one runs; once a shared budget is spent, the rest are reported as not crawled."""
    reports = []
    spent = ""
    for job in jobs:
        report = CrawlReport(source=job.source.name)
        if spent:
            report.error, report.exit_code = f"not crawled: {spent}", 3
        else:
            try:
                crawl_source(store, job, report, progress)
            except BudgetSpent as exc:
                spent = str(exc)
                report.error, report.exit_code = spent, exc.exit_code
            except PrsynthError as exc:
                report.error, report.exit_code = str(exc), exc.exit_code
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


def _single(store: Store, job: CrawlJob, progress: Progress) -> CrawlReport:
    report = CrawlReport(source=job.source.name)
    crawl_source(store, job, report, progress)
    return report


def crawl_git(
    store: Store, path: str | Path, repo: str, *, limit: int = 0, since: str = "",
    include_bots: bool = False, max_diff_bytes: int = 200_000,
    filters: list[PullRequestFilter] | None = None, tasks: FiltersConfig | None = None,
    progress: Progress = quiet,
) -> CrawlReport:
    """Store merged PRs found in a local clone; PRs already stored are not read again, but
    the filters run over them again (`recheck_stored`)."""
    source = LocalGitSource(path, repo, since=since, max_diff_bytes=max_diff_bytes)
    chain = filters if filters is not None else default_filters(include_bots=include_bots,
                                                                 tasks=tasks)
    return _single(store, CrawlJob(source, chain, limit), progress)


def crawl_import(
    store: Store, path: str | Path, *, include_bots: bool = False,
    max_diff_bytes: int = 200_000, filters: list[PullRequestFilter] | None = None,
    tasks: FiltersConfig | None = None,
) -> CrawlReport:
    """Load PR records from a JSONL dump; records already stored are kept as they are, and
    the filters run over the stored PRs again."""
    source = DumpSource(path, max_diff_bytes=max_diff_bytes)
    chain = filters if filters is not None else default_filters(include_bots=include_bots,
                                                                 tasks=tasks)
    return _single(store, CrawlJob(source, chain), quiet)


def github_jobs(
    repos: Sequence[str], client: GitHubClient, *, limit: int = 0, since: str = "",
    include_bots: bool = False, max_diff_bytes: int = 200_000,
    filters: list[PullRequestFilter] | None = None, tasks: FiltersConfig | None = None,
) -> list[CrawlJob]:
    """One job per repository; closed PRs that were never merged are dropped first."""
    from prsynth.sources.github.source import GitHubSource

    chain = filters if filters is not None else default_filters(include_bots=include_bots,
                                                                 tasks=tasks)
    return [
        CrawlJob(GitHubSource(client, repo, since=since, max_diff_bytes=max_diff_bytes),
                 [DropUnmerged(), *chain], limit)
        for repo in repos
    ]


def crawl_github(
    store: Store, repos: Sequence[str], *, client: GitHubClient, limit: int = 0,
    since: str = "", include_bots: bool = False, max_diff_bytes: int = 200_000,
    filters: list[PullRequestFilter] | None = None, tasks: FiltersConfig | None = None,
    on_report: Callable[[CrawlReport], None] | None = None,
) -> list[CrawlReport]:
    """Crawl each repository in turn; one failing repository does not stop the others."""
    jobs = github_jobs(repos, client, limit=limit, since=since, include_bots=include_bots,
                       max_diff_bytes=max_diff_bytes, filters=filters, tasks=tasks)
    return crawl_all(store, jobs, on_report=on_report)
