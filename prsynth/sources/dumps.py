"""PR records imported from JSONL dumps: prsynth's own export format or SWE-bench rows."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from prsynth.crawl.filters import PullRequestFilter
from prsynth.errors import ConfigError, SourceError
from prsynth.progress import Progress
from prsynth.records import FileChange, PullRequest, check_repo_name, is_bot
from prsynth.sources.base import BadLine, CrawlReport
from prsynth.store import Store
from prsynth.text.diffs import added_lines, file_diffs, removed_lines, section_status, truncate_diff

log = logging.getLogger(__name__)

SWE_BENCH_KEYS = {"repo", "instance_id", "base_commit", "patch"}
INSTANCE_NUMBER = re.compile(r"-(\d+)$")


class DumpSource:
    """Read PRs from a JSONL file, one record per line; bad lines are reported, not fatal.

    Records already stored are kept as they are (a dump is a snapshot, not an update).
    """

    store_batch = 100  # PRs per transaction (sources.base.Source)

    def __init__(self, path: str | Path, *, max_diff_bytes: int = 200_000) -> None:
        self.path = Path(path)
        self.name = str(path)
        self.max_diff_bytes = max_diff_bytes
        self.repos: dict[str, PullRequest] = {}

    def pull_requests(
        self, store: Store, report: CrawlReport, filters: Sequence[PullRequestFilter],
        progress: Progress,
    ) -> Iterator[PullRequest]:
        known = store.pr_ids()
        for item in self.records():
            if isinstance(item, BadLine):
                report.bad_lines.append(item)
                log.warning("%s line %d skipped: %s", self.path, item.line, item.reason)
            elif item.id in known:
                report.unchanged += 1
            else:
                self.repos.setdefault(item.repo, item)
                yield item

    def stored(self, store: Store, pr: PullRequest) -> None:
        """Nothing to keep: the store's PR ids are this source's whole state."""

    def finish(self, store: Store, report: CrawlReport, *, complete: bool) -> None:
        for name, pr in self.repos.items():
            store.put_repo(name, license=pr.license, stars=pr.stars,
                           description=pr.repo_description, language=pr.repo_language)

    def records(self) -> Iterator[PullRequest | BadLine]:
        if not self.path.is_file():
            raise SourceError(f"import file {self.path}: not found; pass a JSONL file")
        with self.path.open("rb") as handle:
            for number, raw in enumerate(handle, start=1):
                if not raw.strip():
                    continue
                try:
                    record = json.loads(raw.decode("utf-8"))
                except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                    yield BadLine(number, f"not valid JSON ({exc.__class__.__name__})")
                    continue
                try:
                    yield self._pull_request(record)
                except (ConfigError, KeyError, TypeError, ValueError) as exc:
                    yield BadLine(number, _reason(exc))

    def _pull_request(self, record: Any) -> PullRequest:
        if not isinstance(record, dict):
            raise ValueError("a line must hold a JSON object")
        if SWE_BENCH_KEYS <= record.keys() and "number" not in record:
            pr = from_swe_bench(record)
        else:
            pr = from_export(record)
        pr.diff, pr.diff_truncated = truncate_diff(pr.diff, self.max_diff_bytes)
        return pr


def from_export(record: dict[str, Any]) -> PullRequest:
    for key in ("repo", "number", "title"):
        if key not in record:
            raise KeyError(key)
    check_repo_name(record["repo"])
    if not isinstance(record["number"], int) or record["number"] <= 0:
        raise ValueError(f"number must be a positive integer, got {record['number']!r}")
    pr = PullRequest.from_dict(record)
    pr.source = "import"
    if "author_is_bot" not in record:
        pr.author_is_bot = is_bot(pr.author)
    if not pr.files and pr.diff:
        pr.files = files_from_diff(pr.diff)
    return pr


def from_swe_bench(record: dict[str, Any]) -> PullRequest:
    """A SWE-bench instance: `owner__name-N`, `base_commit`, `patch`, `test_patch`, ..."""
    repo = check_repo_name(record["repo"])
    match = INSTANCE_NUMBER.search(str(record["instance_id"]))
    if not match:
        raise ValueError(f"instance_id {record['instance_id']!r} does not end in -NUMBER")
    diff = (record.get("patch") or "") + (record.get("test_patch") or "")
    statement = (record.get("problem_statement") or "").strip()
    title = statement.splitlines()[0][:200] if statement else record["instance_id"]
    files = files_from_diff(diff)
    return PullRequest(
        repo=repo, number=int(match.group(1)), title=title, body=statement,
        merged_at=record.get("created_at") or "", base_sha=record["base_commit"],
        additions=sum(f.additions for f in files), deletions=sum(f.deletions for f in files),
        files=files, diff=diff, source="import",
    )


def files_from_diff(diff: str) -> list[FileChange]:
    """Per-file status and line counts read from a unified diff."""
    files = []
    for section in file_diffs(diff):
        header = section.text.split("\n@@", 1)[0]
        files.append(FileChange(
            path=section.path, status=section_status(section.text),
            additions=len(added_lines(section.text)), deletions=len(removed_lines(section.text)),
            binary="\nBinary files " in header,
        ))
    return files


def _reason(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"missing field {exc.args[0]!r}"
    return str(exc.args[0]) if exc.args else exc.__class__.__name__
