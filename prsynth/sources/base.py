"""What every source of pull requests looks like from the outside (docs/architecture.md,
"Sources"): PRs out, resumable state in the store.

`prsynth.crawl.run.crawl_source` is the one loop over any source: it filters each PR,
redacts it and stores it in its own transaction, calling the source's hooks so that its
bookkeeping commits with the PR.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from prsynth.crawl.filters import PullRequestFilter
from prsynth.progress import Progress
from prsynth.records import PullRequest
from prsynth.store import Store


@dataclass
class BadLine:
    """A line of a dump that could not be imported, with the reason (counted, not fatal)."""

    line: int
    reason: str


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
    # PRs stored earlier that the filters drop now (left out of synth and select)
    rechecked: Counter[str] = field(default_factory=Counter)
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
            "redacted": self.redacted, "rechecked": dict(sorted(self.rechecked.items())),
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
        if self.rechecked:
            now = ", ".join(f"{n} {r}" for r, n in sorted(self.rechecked.items()))
            line += f"; stored before, dropped now: {now}"
        if self.requests:
            left = "unknown" if self.rate_limit_left is None else self.rate_limit_left
            line += f"; {self.requests} requests, rate limit {left} left"
        return line + (f"; FAILED: {self.error}" if self.error else "")


class Source(Protocol):
    """One place merged PRs come from: a GitHub repository, a local clone, a dump file."""

    # What log lines and reports call it: "owner/name", or the dump's path.
    name: str
    # PRs stored per transaction: local sources batch (fewer commits); a source that waits
    # on the network keeps 1, so no transaction stays open across a request.
    store_batch: int

    def pull_requests(
        self, store: Store, report: CrawlReport, filters: Sequence[PullRequestFilter],
        progress: Progress,
    ) -> Iterator[PullRequest]:
        """PRs that are new or changed since the last run, judged from the store.

        Counts what it skips as unchanged (and a dump's bad lines) on `report`. `filters`
        are what the crawl applies next: a source may use them to avoid fetching what
        they will drop. Errors a user can fix are `PrsynthError`s; no client library's
        exception leaves a source.
        """
        ...

    def stored(self, store: Store, pr: PullRequest) -> None:
        """Bookkeeping for one PR, inside the transaction that stored or dropped it."""
        ...

    def finish(self, store: Store, report: CrawlReport, *, complete: bool) -> None:
        """After the loop, however it ended; `complete`: every PR was read (no error, no
        --limit). Saves what lets the next run start where this one stopped."""
        ...
