"""Keep/drop decisions on PRs before they are stored; every drop has a named reason.

A filter makes one decision (`check(pr) -> None | reason`); `first_drop_reason` runs
a chain and the crawler records the reason, so `prsynth stats` shows the funnel.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from prsynth.records import PullRequest
from prsynth.text.diffs import is_generated, is_lockfile


class PullRequestFilter:
    """Base class: return None to keep a PR, or a short reason (snake_case) to drop it."""

    def check(self, pr: PullRequest) -> str | None:
        raise NotImplementedError


class DropBots(PullRequestFilter):
    def check(self, pr: PullRequest) -> str | None:
        return "bot_author" if pr.author_is_bot else None


class DropUnmerged(PullRequestFilter):
    """For sources that also list closed PRs that were never merged (GitHub)."""

    def check(self, pr: PullRequest) -> str | None:
        return None if pr.merged_at else "not_merged"


class DropEmptyDiffs(PullRequestFilter):
    def check(self, pr: PullRequest) -> str | None:
        if not pr.files:
            return "empty_diff"
        if all(f.binary for f in pr.files):
            return "binary_only_diff"
        return None


@dataclass
class DropByChangedLines(PullRequestFilter):
    minimum: int = 0
    maximum: int = 0  # 0: no upper bound

    def check(self, pr: PullRequest) -> str | None:
        changed = pr.additions + pr.deletions
        if changed < self.minimum:
            return "too_few_changed_lines"
        if self.maximum and changed > self.maximum:
            return "too_many_changed_lines"
        return None


@dataclass
class DropExcludedPathsOnly(PullRequestFilter):
    """Drop PRs that only touch lockfiles, vendored/generated files or `patterns`."""

    patterns: Sequence[str] = ()

    def excluded(self, path: str) -> bool:
        if is_lockfile(path) or is_generated(path):
            return True
        return any(fnmatch.fnmatch(path, p) for p in self.patterns)

    def check(self, pr: PullRequest) -> str | None:
        if pr.files and all(self.excluded(f.path) for f in pr.files):
            return "only_excluded_paths"
        return None


@dataclass
class DropUnlistedLicenses(PullRequestFilter):
    allowed: Sequence[str] = ()

    def check(self, pr: PullRequest) -> str | None:
        if self.allowed and pr.license not in self.allowed:
            return "license_not_allowed"
        return None


def default_filters(
    *,
    include_bots: bool = False,
    min_changed_lines: int = 0,
    max_changed_lines: int = 0,
    exclude_paths: Sequence[str] = (),
    licenses: Sequence[str] = (),
) -> list[PullRequestFilter]:
    chain: list[PullRequestFilter] = [] if include_bots else [DropBots()]
    chain += [DropEmptyDiffs(), DropExcludedPathsOnly(tuple(exclude_paths))]
    if min_changed_lines or max_changed_lines:
        chain.append(DropByChangedLines(min_changed_lines, max_changed_lines))
    if licenses:
        chain.append(DropUnlistedLicenses(tuple(licenses)))
    return chain


def first_drop_reason(pr: PullRequest, filters: Iterable[PullRequestFilter]) -> str | None:
    for pr_filter in filters:
        reason = pr_filter.check(pr)
        if reason:
            return reason
    return None
