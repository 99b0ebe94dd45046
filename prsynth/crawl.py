"""Crawling: a source's PRs, through the filters, into the store, one transaction each."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from prsynth.filters import PullRequestFilter, default_filters, first_drop_reason
from prsynth.records import PullRequest
from prsynth.redact import redact_pr
from prsynth.sources.dumps import BadLine, DumpSource
from prsynth.sources.local_git import LocalGitSource
from prsynth.store import Store

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

    @property
    def failed(self) -> bool:
        return bool(self.error)

    def to_dict(self) -> dict[str, object]:
        return {
            "source": self.source, "new": self.new, "updated": self.updated,
            "unchanged": self.unchanged, "skipped": dict(sorted(self.skipped.items())),
            "redacted": self.redacted,
            "bad_lines": [{"line": b.line, "reason": b.reason} for b in self.bad_lines],
            "error": self.error,
        }

    def summary(self) -> str:
        skipped = ", ".join(f"{n} {r}" for r, n in sorted(self.skipped.items())) or "none"
        line = f"{self.source}: {self.new} new, {self.updated} updated, skipped: {skipped}"
        if self.bad_lines:
            line += f", {len(self.bad_lines)} bad lines"
        if self.redacted:
            line += f", secrets redacted in {self.redacted}"
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

    def fresh_prs() -> Iterable[PullRequest]:
        for item in source.records():
            if isinstance(item, BadLine):
                report.bad_lines.append(item)
                log.warning("%s line %d skipped: %s", path, item.line, item.reason)
            elif item.id in known:
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
    prs: Iterable[PullRequest],
    filters: list[PullRequestFilter],
    report: CrawlReport,
    *,
    limit: int = 0,
    stage_item: str,
) -> None:
    """Filter and store PRs one transaction each, counting every drop by its reason."""
    for pr in prs:
        reason = first_drop_reason(pr, filters)
        if reason:
            report.skipped[reason] += 1
            store.record_drop(stage_item, pr.id, reason, repo=pr.repo)
            continue
        clean = redact_pr(pr)
        if clean != pr:
            report.redacted += 1
        if store.put_pr(clean, replace=True):
            report.new += 1
        if limit and report.new >= limit:
            break
