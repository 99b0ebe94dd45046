"""Keep/drop decisions on PRs before they are stored; every drop has a named reason.

A filter makes one decision (`check(pr) -> None | reason`); `first_drop_reason` runs
a chain and the crawler records the reason, so `prsynth stats` shows the funnel.

Besides bots, empty diffs and excluded paths, the task filters drop merged PRs that are
not coding tasks worth giving an agent: releases, dependency and CI bumps, changes
without source code, branch syncs, reverts, typo and formatting passes, and changes
outside a changed-lines window. `[filters]` in the config switches each one (see
docs/architecture.md, "Task filters").
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from prsynth.config import FiltersConfig
from prsynth.records import PullRequest
from prsynth.text.diffs import (
    is_dependency_manifest,
    is_generated,
    is_lockfile,
    path_kind,
    whitespace_only,
)


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
class DropExcludedPathsOnly(PullRequestFilter):
    """Drop PRs that only touch lockfiles, vendored/generated files (unless `builtin` is
    off) or `patterns`."""

    patterns: Sequence[str] = ()
    builtin: bool = True

    def excluded(self, path: str) -> bool:
        if self.builtin and (is_lockfile(path) or is_generated(path)):
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


TASK_REASONS = ("release", "dependency_bump", "branch_sync", "revert", "typo_or_format",
                "no_source_code", "docs_only", "too_few_changed_lines", "too_many_changed_lines")


def _title(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


# Titles start after any emoji or gitmoji (`🔖`, `:bookmark:`) and `[scope]` prefix.
LEAD = r"^[\W_]*(?::[a-z_]+:\s*)?(?:\[[^\]]{1,30}\]\s*)?"
RELEASE = _title(
    LEAD + r"(?:(?:prepare|preparing|cut|tag)\s+(?:for\s+)?(?:the\s+)?)?(?:release|releasing|"
    r"version)\b.{0,20}?\bv?\d+(?:\.\d+)+|" + LEAD + r"v?\d+\.\d+(?:\.\d+)*(?:(?:a|b|rc)\d*)?"
    r"(?:\s+release)?\s*$|" + LEAD + r"(?:bump|update|set|increment)\s+(?:the\s+)?(?:package\s+)?"
    r"version\b|" + LEAD + r"release\s*$|" + LEAD + r"start\s+version\b"
)
DEPENDENCY_TITLE = _title(
    LEAD + r"(?:bump|upgrade|update|pin|unpin|relock)\b.{0,80}\bfrom\s+v?\S+\s+to\s+v?\S+"
    r"|pre-commit(?:\.ci)?\s+autoupdate|" + LEAD + r"(?:bump|update|upgrade|pin|unpin|refresh)"
    r"\s+(?:the\s+|all\s+)?(?:[\w.-]+\s+)?(?:dev\s+|test\s+|docs?\s+|ci\s+)?(?:dependenc(?:y|ies)|"
    r"deps|requirements|pins|lock\s*files?|actions)\b|" + LEAD + r"bump the [\w.-]+ group"
    r"|^dependabot/|^renovate/|" + LEAD + r"(?:bump|update|upgrade|pin|unpin)\s+(?:the\s+)?"
    r"(?:mypy|ruff|black|coverage|pytest|flake8|isort|pre-commit|eslint|prettier|typescript|xo|"
    r"ava|tsd|tox|sphinx|mkdocs|pylint|pyright|codecov|node)\b"
)
BRANCH_SYNC = _title(
    LEAD + r"merge\s+(?:(?:remote-tracking\s+)?branch\s+)?['`\"]?[\w./-]+['`\"]?\s+into\s+"
    r"|" + LEAD + r"merge\s+(?:[\w-]+/)?(?:main|master|stable|develop|dev|\d+(?:\.\d+)*\.x)\s*$"
    r"|" + LEAD + r"(?:sync|update)\s+(?:\w+\s+)?(?:with|from)\s+(?:upstream|main|master|stable)\b"
    r"|" + LEAD + r"(?:\d+(?:\.\d+)*\.x|main|master|stable)\s*$|" + LEAD + r"back-?merge\b"
)
REVERT = _title(LEAD + r"(?:revert|rollback|roll back)\b|" + LEAD + r"undo\s+(?:#|pr\b)")
TYPO = _title(
    r"\btypos?\b|\bspelling\b|\bmisspell|\bgrammar\b|\bfix(?:es|ed)?\s+(?:a\s+|some\s+|minor\s+)?"
    r"(?:wording|whitespace|indentation|punctuation)\b|\b(?:re)?format(?:ting)?\s+(?:the\s+)?"
    r"(?:code|files|sources|codebase|with)\b|\brun\s+(?:black|prettier|ruff format|isort|gofmt|"
    r"rustfmt)\b|" + LEAD + r"(?:apply|use)\s+(?:black|prettier|isort)\b|\blint(?:ing)?\s+"
    r"fix(?:es)?\b|\bfix\s+lint\b|\btrailing whitespace\b"
)
# Files that do not make a change a coding task on their own.
NOT_SOURCE = frozenset({"docs", "changelog", "ci", "packaging", "lockfile", "generated", "other"})


class DropReleases(PullRequestFilter):
    def check(self, pr: PullRequest) -> str | None:
        return "release" if RELEASE.search(pr.title) else None


class DropDependencyBumps(PullRequestFilter):
    """Dependency, lock-file and CI-action bumps: by title, or by touching only manifests."""

    def check(self, pr: PullRequest) -> str | None:
        if DEPENDENCY_TITLE.search(pr.title):
            return "dependency_bump"
        paths = [f.path for f in pr.files]
        if paths and all(is_dependency_manifest(p) for p in paths):
            return "dependency_bump"
        return None


class DropBranchSyncs(PullRequestFilter):
    def check(self, pr: PullRequest) -> str | None:
        return "branch_sync" if BRANCH_SYNC.search(pr.title) else None


class DropReverts(PullRequestFilter):
    def check(self, pr: PullRequest) -> str | None:
        return "revert" if REVERT.search(pr.title) else None


class DropTypoPasses(PullRequestFilter):
    """Typo, spelling and formatting passes: by title, or a diff that changes only whitespace."""

    def check(self, pr: PullRequest) -> str | None:
        if TYPO.search(pr.title) or whitespace_only(pr.diff):
            return "typo_or_format"
        return None


@dataclass
class DropWithoutSourceCode(PullRequestFilter):
    """Changes to docs, changelogs, CI or packaging metadata only; docs-only changes are kept
    as docs tasks when `allow_docs`."""

    allow_docs: bool = False

    def check(self, pr: PullRequest) -> str | None:
        kinds = {path_kind(f.path) for f in pr.files}
        if not kinds or not kinds <= NOT_SOURCE:
            return None
        if kinds == {"docs"}:
            return None if self.allow_docs else "docs_only"
        return "no_source_code"


@dataclass
class DropByTaskSize(PullRequestFilter):
    """A changed-lines window over the files a task is made of (lock and generated files
    do not count); 0 switches a bound off."""

    minimum: int = 10
    maximum: int = 1500

    def check(self, pr: PullRequest) -> str | None:
        changed = sum(f.additions + f.deletions for f in pr.files
                      if path_kind(f.path) not in ("lockfile", "generated"))
        if changed < self.minimum:
            return "too_few_changed_lines"
        if self.maximum and changed > self.maximum:
            return "too_many_changed_lines"
        return None


def task_filters(settings: FiltersConfig, *, min_changed_lines: int = 0,
                 max_changed_lines: int = 0) -> list[PullRequestFilter]:
    """The task filters `settings` ([filters] of the config) switches on; a source's own
    changed-lines bounds, when set, replace the window's."""
    chain: list[PullRequestFilter] = []
    for switch, task_filter in (
        ("release", DropReleases()), ("revert", DropReverts()),
        ("branch_sync", DropBranchSyncs()), ("dependency_bump", DropDependencyBumps()),
        ("typo_or_format", DropTypoPasses()),
        ("no_source_code", DropWithoutSourceCode(settings.allow_docs)),
    ):
        if getattr(settings, switch):
            chain.append(task_filter)
    low = min_changed_lines or settings.min_changed_lines
    high = max_changed_lines or settings.max_changed_lines
    if low or high:
        chain.append(DropByTaskSize(low, high))
    return chain


def default_filters(
    *,
    include_bots: bool = False,
    min_changed_lines: int = 0,
    max_changed_lines: int = 0,
    exclude_paths: Sequence[str] = (),
    licenses: Sequence[str] = (),
    tasks: FiltersConfig | None = None,
) -> list[PullRequestFilter]:
    """The crawl's chain: bots, empty diffs, excluded paths, then the task filters that
    `tasks` ([filters], defaults when None) switches on, then licenses."""
    settings = tasks if tasks is not None else FiltersConfig()
    chain: list[PullRequestFilter] = [] if include_bots else [DropBots()]
    chain += [DropEmptyDiffs(),
              DropExcludedPathsOnly(tuple(exclude_paths), builtin=settings.generated_only)]
    chain += task_filters(settings, min_changed_lines=min_changed_lines,
                          max_changed_lines=max_changed_lines)
    if licenses:
        chain.append(DropUnlistedLicenses(tuple(licenses)))
    return chain


def first_drop_reason(pr: PullRequest, filters: Iterable[PullRequestFilter]) -> str | None:
    for pr_filter in filters:
        reason = pr_filter.check(pr)
        if reason:
            return reason
    return None
