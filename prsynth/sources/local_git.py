"""Merged pull requests mined from a local clone with GitPython.

GitHub leaves three shapes in history, all recognised here, on every branch:

- merge commits "Merge pull request #N from USER/BRANCH" (title and body follow in the
  message): the change is merge-base(parent1, parent2) -> parent2;
- two-parent merges whose subject is "Title (#N)": same diff;
- squash merges, one parent, subject "Title (#N)": the change is parent -> commit.

Speed: one `git log` reads the whole commit graph, merge bases are computed in Python
from that graph, and diffs stream through one `git diff-tree --stdin` process per
batch, so there is no git process per PR or per file.
"""

from __future__ import annotations

import datetime as dt
import functools
import heapq
import logging
import re
import tempfile
from collections.abc import Container, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import git

from prsynth.crawl.filters import PullRequestFilter
from prsynth.errors import ConfigError, SourceError
from prsynth.progress import Progress
from prsynth.records import (
    FileChange,
    PullRequest,
    Unreadable,
    check_repo_name,
    is_bot,
    is_bot_branch,
)
from prsynth.sources.base import CrawlReport
from prsynth.sources.git_diffs import (
    DIFF_TREE,
    Read,
    binary_in_batch,
    parse_diff_tree,
)
from prsynth.sources.licenses import detect_license
from prsynth.store import Store
from prsynth.text.diffs import truncate_diff
from prsynth.text.personal import signed_off_by_bot

log = logging.getLogger(__name__)

MERGE_PR = re.compile(r"^Merge pull request #(\d+) from ([^/\s]+)/(\S+)")
TITLED_PR = re.compile(r"^(.*\S)\s+\(#(\d+)\)\s*$")
RECORD_END = "\x1e"
FIELD_SEP = "\x1f"
# %ct (seconds since the epoch) rather than %cI: real histories hold malformed time
# zones (`+51800`, which git fsck calls badTimezone) that make %cI unparseable.
LOG_FORMAT = FIELD_SEP.join(["%H", "%P", "%an", "%ct", "%B"]) + RECORD_END
BATCH = 64  # PRs per diff-tree process; small enough that git runs ahead while we store
# Batches diffed ahead, each by its own git process. git is the slower stage: with three
# at once it keeps up on a 2-core machine that other jobs share (measured on jinja at load
# average 10: 1.48 s against 1.87 s with two; no difference on an idle machine).
AHEAD = 3


@dataclass
class PrCommit:
    """A commit that records a merged PR, before its diff is read."""

    number: int
    title: str
    body: str
    author: str
    merged_at: str
    merge_sha: str
    base_sha: str
    head_sha: str
    branch: str = ""  # the PR's head branch, when the merge subject names it
    head_author: str = ""  # author of the PR's head commit


class LocalGitSource:
    """Yield merged PRs of `repo` (OWNER/NAME) found in the clone at `path`, newest first."""

    store_batch = 100  # PRs per transaction (sources.base.Source)

    def __init__(
        self,
        path: str | Path,
        repo: str,
        *,
        since: str = "",
        max_diff_bytes: int = 200_000,
    ) -> None:
        self.repo_name = self.name = check_repo_name(repo)
        self.path = Path(path)
        self.since = _parse_since(since)
        self.max_diff_bytes = max_diff_bytes
        self._license: str | None = None

    @functools.cached_property
    def git_repo(self) -> git.Repo:
        try:
            return git.Repo(self.path)
        except git.NoSuchPathError:
            raise SourceError(
                f"git source {self.path}: no such folder; pass a local clone"
            ) from None
        except git.InvalidGitRepositoryError:
            raise SourceError(
                f"git source {self.path}: not a git repository; pass the folder of a clone"
            ) from None

    @property
    def license(self) -> str:
        if self._license is None:
            self._license = detect_license(self.git_repo)
        return self._license

    def pr_commits(self) -> list[PrCommit]:
        """Every PR recorded in history (on any branch), newest first, one per number."""
        try:
            raw = self.git_repo.git.log("--all", "--date-order", f"--format={LOG_FORMAT}",
                                        stdout_as_string=False)
        except git.GitCommandError as exc:
            if "does not have any commits" in str(exc) or not self.git_repo.refs:
                return []
            raise SourceError(
                f"git source {self.path}: git log failed: {exc.stderr.strip()}"
            ) from None
        # Messages and names in another encoding than UTF-8 are kept, with what cannot be
        # decoded shown as U+FFFD.
        out = raw.decode("utf-8", "replace")
        parents: dict[str, list[str]] = {}
        authors: dict[str, str] = {}
        rows = []
        for record in out.split(RECORD_END):
            record = record.lstrip("\n")
            if not record:
                continue
            sha, parent_list, author, date, message = record.split(FIELD_SEP, 4)
            parents[sha] = parent_list.split()
            authors[sha] = author
            rows.append((sha, parents[sha], author, date, message))
        graph = CommitGraph(parents)
        found: dict[int, PrCommit] = {}
        for sha, pars, author, date, message in rows:
            pr = _pr_commit(sha, pars, author, date, message, graph, found)
            if pr is None or pr.number in found:
                continue  # the newest commit naming #N wins; older ones are cherry-picks
            pr.head_author = authors.get(pr.head_sha, "")
            if self.since and (not pr.merged_at or _parse_date(pr.merged_at) < self.since):
                continue
            found[pr.number] = pr
        return list(found.values())

    def pull_requests(
        self, store: Store, report: CrawlReport, filters: Sequence[PullRequestFilter],
        progress: Progress,
    ) -> Iterator[PullRequest | Unreadable]:
        """Full records of the PRs not stored yet; stored ones are skipped before any
        diff is read. A PR whose objects are missing from the clone (a shallow or damaged
        one) is `Unreadable`."""
        skip = store.pr_ids(self.repo_name)
        report.unchanged = len(skip)
        todo = [c for c in self.pr_commits() if f"{self.repo_name}#{c.number}" not in skip]
        batches = [todo[start:start + BATCH] for start in range(0, len(todo), BATCH)]
        # AHEAD git processes diff the next batches (on other cores) while the caller
        # stores this one; results come back in order.
        with ThreadPoolExecutor(max_workers=AHEAD) as ahead:
            pending = [ahead.submit(self._diffs, batch) for batch in batches[:AHEAD]]
            done = 0
            for index, batch in enumerate(batches):
                diffs = pending.pop(0).result()
                if index + AHEAD < len(batches):
                    pending.append(ahead.submit(self._diffs, batches[index + AHEAD]))
                for commit, read in zip(batch, diffs, strict=True):
                    if read is None:
                        yield Unreadable(f"{self.repo_name}#{commit.number}", self.repo_name,
                                         "missing_git_objects")
                    else:
                        yield self._record(commit, *read)
                done += len(batch)
                progress(self.repo_name, done, len(todo))

    def stored(self, store: Store, pr: PullRequest) -> None:
        """Nothing to keep: the store's PR ids are this source's whole state."""

    def finish(self, store: Store, report: CrawlReport, *, complete: bool) -> None:
        if report.new:
            store.put_repo(self.repo_name, license=self.license)
        store.put_clone_path(self.repo_name, str(self.path.resolve()))  # verify reads it

    @staticmethod
    def _by_bot(c: PrCommit) -> bool:
        """The author of a merge-button merge is the branch's owner ("pallets"), so a bot's
        PR shows in its branch name, its head commit's author or a bot's sign-off."""
        return (is_bot(c.author) or is_bot(c.head_author) or is_bot_branch(c.branch)
                or signed_off_by_bot(c.body))

    def _record(self, c: PrCommit, files: list[FileChange], diff: str) -> PullRequest:
        diff, truncated = truncate_diff(diff, self.max_diff_bytes)
        return PullRequest(
            repo=self.repo_name, number=c.number, title=c.title, body=c.body, author=c.author,
            author_is_bot=self._by_bot(c), merged_at=c.merged_at, base_sha=c.base_sha,
            head_sha=c.head_sha, merge_sha=c.merge_sha,
            additions=sum(f.additions for f in files), deletions=sum(f.deletions for f in files),
            files=files, diff=diff, diff_truncated=truncated, license=self.license, source="git",
        )

    def _diffs(self, batch: list[PrCommit]) -> list[Read | None]:
        """Diff base -> head for every PR of the batch through one diff-tree process; when
        git cannot read an object, each PR again on its own (None: that PR's objects)."""
        try:
            return list(self._diff_batch(batch))
        except git.GitCommandError as exc:
            if len(batch) == 1:
                log.warning("%s#%d: git cannot read its diff (%s)", self.repo_name,
                            batch[0].number, str(exc.stderr).strip()[:200])
                return [None]
        return [read for commit in batch for read in self._diffs([commit])]

    def _diff_batch(self, batch: list[PrCommit]) -> list[Read]:
        # diff-tree --stdin reads "COMMIT PARENT" lines and diffs PARENT -> COMMIT.
        out = self._git_fed(list(DIFF_TREE), [f"{c.head_sha} {c.base_sha}" for c in batch])
        return parse_diff_tree(out, [c.head_sha for c in batch], self._binary_blobs)

    def _binary_blobs(self, shas: list[str]) -> set[str]:
        """Which blobs hold binary content; only asked about files git shows without
        hunks (renames, mode changes), through a `cat-file` process of this thread."""
        return binary_in_batch(self._git_fed(["git", "cat-file", "--batch"], shas))

    def _git_fed(self, command: list[str], lines: list[str]) -> bytes:
        """The raw output of a git command that reads `lines` on its stdin."""
        with tempfile.TemporaryFile() as stdin:
            stdin.write("".join(f"{line}\n" for line in lines).encode())
            stdin.seek(0)
            return self.git_repo.git.execute(
                command, istream=stdin, stdout_as_string=False, strip_newline_in_stdout=False,
            )


class CommitGraph:
    """Parent links of every commit, with generation numbers for fast merge bases."""

    def __init__(self, parents: dict[str, list[str]]) -> None:
        self.parents = parents
        self.generation: dict[str, int] = {}
        for sha in parents:
            self._number(sha)

    def _number(self, start: str) -> None:
        stack = [start]
        while stack:
            sha = stack[-1]
            if sha in self.generation:
                stack.pop()
                continue
            pending = [p for p in self.parents.get(sha, ()) if p not in self.generation]
            if pending:
                stack.extend(pending)
                continue
            gens = [self.generation[p] for p in self.parents.get(sha, ())]
            self.generation[sha] = 1 + max(gens, default=0)
            stack.pop()

    def merge_base(self, a: str, b: str) -> str | None:
        """The best common ancestor of a and b (git's paint-down, highest generation first)."""
        if a == b:
            return a
        one, two, stale = 1, 2, 4
        flags = {a: one, b: two}
        heap = [(-self.generation.get(a, 0), a), (-self.generation.get(b, 0), b)]
        best = None
        while heap and any(not flags[sha] & stale for _, sha in heap):
            _, sha = heapq.heappop(heap)
            flag = flags[sha]
            if flag & (one | two) == (one | two) and not flag & stale:
                if best is None:
                    best = sha
                flag |= stale
                flags[sha] = flag
            for parent in self.parents.get(sha, ()):
                old = flags.get(parent, 0)
                new = old | flag
                if new != old:
                    flags[parent] = new
                    heapq.heappush(heap, (-self.generation.get(parent, 0), parent))
        return best


def _pr_commit(
    sha: str, parents: list[str], author: str, date: str, message: str, graph: CommitGraph,
    found: Container[int] = (),
) -> PrCommit | None:
    """The PR `sha` records, None when it records none or one of `found` (numbers a newer
    commit already recorded: no merge base is computed for those)."""
    subject, _, rest = message.partition("\n")
    merge = MERGE_PR.match(subject)
    if merge and len(parents) == 2:
        if int(merge.group(1)) in found:
            return None
        title, _, body = rest.strip().partition("\n")
        base = graph.merge_base(parents[0], parents[1]) or parents[0]
        return PrCommit(
            number=int(merge.group(1)), title=title.strip() or merge.group(3),
            body=body.strip(), author=merge.group(2), merged_at=_utc(date), merge_sha=sha,
            base_sha=base, head_sha=parents[1], branch=merge.group(3),
        )
    titled = TITLED_PR.match(subject) if "(#" in subject else None  # most commits: no PR
    if not titled or not parents or len(parents) > 2 or int(titled.group(2)) in found:
        return None
    merged_at = _utc(date)
    if len(parents) == 2:
        base = graph.merge_base(parents[0], parents[1]) or parents[0]
        head = parents[1]
    else:
        base, head = parents[0], sha
    return PrCommit(
        number=int(titled.group(2)), title=titled.group(1), body=rest.strip(), author=author,
        merged_at=merged_at, merge_sha=sha, base_sha=base, head_sha=head,
    )


def _utc(timestamp: str) -> str:
    """An epoch timestamp as UTC ISO 8601; "" when git recorded none that can be read."""
    try:
        return dt.datetime.fromtimestamp(int(timestamp), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (ValueError, OverflowError, OSError):
        return ""


def _parse_date(value: str) -> dt.datetime:
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def _parse_since(value: str) -> dt.datetime | None:
    if not value:
        return None
    try:
        return _parse_date(value)
    except ValueError:
        raise ConfigError(
            f"--since {value!r} is not a date; use YYYY-MM-DD or an ISO 8601 time"
        ) from None
