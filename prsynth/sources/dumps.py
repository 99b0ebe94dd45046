"""PR records imported from JSONL dumps: prsynth's own export format or SWE-bench rows."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from prsynth.crawl.filters import PullRequestFilter
from prsynth.errors import ConfigError, SourceError
from prsynth.progress import Progress
from prsynth.records import FileChange, PullRequest, check_repo_name, is_bot
from prsynth.sources.base import BadLine, CrawlReport
from prsynth.store import Store
from prsynth.text.diffs import (
    added_lines,
    clean_diff,
    file_diffs,
    removed_lines,
    section_status,
    truncate_diff,
)

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
        first_line: dict[str, int] = {}
        for entry in self.records():
            if not isinstance(entry, BadLine) and entry[1].id in first_line:
                entry = BadLine(entry[0], f"{entry[1].id} was already on line "
                                f"{first_line[entry[1].id]}; the first is kept")
            if isinstance(entry, BadLine):
                report.bad_lines.append(entry)
                log.warning("%s line %d skipped: %s", self.path, entry.line, entry.reason)
                continue
            number, item = entry
            first_line[item.id] = number
            if item.id in known:
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

    def records(self) -> Iterator[tuple[int, PullRequest] | BadLine]:
        """(line number, PR) for every readable line, a BadLine with the reason otherwise."""
        if not self.path.is_file():
            raise SourceError(f"import file {self.path}: not found; pass a JSONL file")
        with self.path.open("rb") as handle:
            yield from read_records(handle, self.max_diff_bytes)


def read_records(
    lines: Iterable[bytes], max_diff_bytes: int = 200_000,
) -> Iterator[tuple[int, PullRequest] | BadLine]:
    """Parse JSONL lines: (line number, PR) or a BadLine naming the line and the reason,
    for any bytes at all (tests/test_properties.py holds it to that)."""
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            yield BadLine(number, f"not valid JSON ({exc.__class__.__name__})")
            continue
        try:
            pr = _pull_request(record, max_diff_bytes)
        except (ConfigError, KeyError, TypeError, ValueError) as exc:
            yield BadLine(number, _reason(exc))
            continue
        yield number, pr


def _pull_request(record: Any, max_diff_bytes: int) -> PullRequest:
    if not isinstance(record, dict):
        raise ValueError("a line must hold a JSON object")
    if SWE_BENCH_KEYS <= record.keys() and "number" not in record:
        pr = from_swe_bench(record)
    else:
        pr = from_export(record)
    pr.diff, pr.diff_truncated = truncate_diff(clean_diff(pr.diff), max_diff_bytes)
    return pr


# The PR record of DESIGN.md, field by field: (accepted JSON types, what to say).
# null stands for "not given" in every optional field.
TEXT, COUNT, FLAG = (str,), (int,), (bool,)
PR_FIELDS: dict[str, tuple[tuple[type, ...], str]] = {
    "id": (TEXT, "a string OWNER/NAME#N"), "repo": (TEXT, "a string OWNER/NAME"),
    "number": (COUNT, "a positive integer"), "url": (TEXT, "a string"),
    "title": (TEXT, "a string"), "body": (TEXT, "a string"), "author": (TEXT, "a string"),
    "author_is_bot": (FLAG, "true or false"), "merged_at": (TEXT, "an ISO 8601 date string"),
    "base_sha": (TEXT, "a string"), "head_sha": (TEXT, "a string"),
    "merge_sha": (TEXT, "a string"), "additions": (COUNT, "a non-negative integer"),
    "deletions": (COUNT, "a non-negative integer"), "files": ((list,), "a list of objects"),
    "diff": (TEXT, "a string"), "diff_truncated": (FLAG, "true or false"),
    "linked_issues": ((list,), "a list of objects"), "license": (TEXT, "a string"),
    "source": (TEXT, "a string"), "stars": (COUNT, "a non-negative integer"),
    "repo_description": (TEXT, "a string"), "repo_language": (TEXT, "a string"),
}
FILE_FIELDS: dict[str, tuple[tuple[type, ...], str]] = {
    "path": (TEXT, "a string"), "status": (TEXT, "a string"),
    "additions": (COUNT, "a non-negative integer"),
    "deletions": (COUNT, "a non-negative integer"), "previous_path": (TEXT, "a string"),
    "binary": (FLAG, "true or false"),
}
SWE_BENCH_FIELDS: dict[str, tuple[tuple[type, ...], str]] = {
    "repo": (TEXT, "a string OWNER/NAME"), "instance_id": (TEXT, "a string OWNER__NAME-N"),
    "base_commit": (TEXT, "a string"), "patch": (TEXT, "a string"),
    "test_patch": (TEXT, "a string"), "problem_statement": (TEXT, "a string"),
    "created_at": (TEXT, "an ISO 8601 date string"),
}


def check_fields(
    record: dict[str, Any], schema: dict[str, tuple[tuple[type, ...], str]], where: str = "",
) -> None:
    """Raise ValueError naming the first field whose JSON type is not the documented one."""
    for key, (kinds, wanted) in schema.items():
        value = record.get(key)
        if value is None:
            continue
        # JSON true/false are Python bools, which are ints too: keep them apart.
        ok = isinstance(value, kinds) and (bool in kinds or not isinstance(value, bool))
        if ok and int in kinds and value < (1 if key == "number" else 0):
            ok = False
        if ok and "date" in wanted and value and not _is_date(value):
            ok = False
        if not ok:
            raise ValueError(f"field '{where}{key}' must be {wanted}, got {_short(value)}")


def _is_date(value: str) -> bool:
    try:
        dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=True)
    return text if len(text) <= 40 else text[:37] + "..."


def from_export(record: dict[str, Any]) -> PullRequest:
    for key in ("repo", "number", "title"):
        if key not in record:
            raise KeyError(key)
    check_fields(record, PR_FIELDS)
    for index, item in enumerate(record.get("files") or []):
        if not isinstance(item, dict):
            raise ValueError(f"field 'files[{index}]' must be an object, got {_short(item)}")
        check_fields(item, FILE_FIELDS, f"files[{index}].")
    for index, item in enumerate(record.get("linked_issues") or []):
        if not isinstance(item, dict):
            raise ValueError(
                f"field 'linked_issues[{index}]' must be an object, got {_short(item)}")
    check_repo_name(record["repo"])
    expected = f"{record['repo']}#{record['number']}"
    if record.get("id") not in (None, expected):
        raise ValueError(f"field 'id' is {_short(record['id'])} but repo and number say "
                         f"{expected!r}")
    pr = PullRequest.from_dict({k: v for k, v in record.items() if v is not None})
    pr.source = "import"
    if "author_is_bot" not in record:
        pr.author_is_bot = is_bot(pr.author)
    if not pr.files and pr.diff:
        pr.files = files_from_diff(pr.diff)
    return pr


def from_swe_bench(record: dict[str, Any]) -> PullRequest:
    """A SWE-bench instance: `owner__name-N`, `base_commit`, `patch`, `test_patch`, ..."""
    check_fields(record, SWE_BENCH_FIELDS)
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
