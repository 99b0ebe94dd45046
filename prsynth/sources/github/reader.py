"""Reading one repository's pull requests from GitHub's REST API into PR records.

Request economy: one list request per 100 PRs (sorted by `updated`, newest first, so
an incremental run stops at what it already knows) and one files request per merged
PR; the unified diff is assembled from the per-file patches, so the single-PR and
`.diff` endpoints are never called. Conditional requests (`If-None-Match` with stored
ETags) make an unchanged re-crawl cost 304s, which GitHub does not count.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from github import GithubException
from github.File import File
from github.PullRequest import PullRequest as GithubPull
from github.Repository import Repository

from prsynth.records import FileChange, PullRequest, is_bot, is_bot_branch
from prsynth.sources.github.client import (
    PER_PAGE,
    GitHubClient,
    GitHubUnavailable,
    ResponseCache,
    expect_json,
    http_reason,
    iso_time,
    next_link,
)
from prsynth.text.diffs import truncate_diff
from prsynth.text.redact import redact_json

MAX_LINKED_ISSUES = 10
# GitHub's closing keywords: "fixes #12", "Closes: owner/repo#3", "resolved https://github.com/o/r/issues/4".
CLOSING = re.compile(
    r"\b(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?)\b:?\s+"
    r"(?:(?P<repo>[A-Za-z0-9][\w.-]*/[\w.-]+)#|#|https?://[^/\s]+/(?P<url_repo>[\w.-]+/[\w.-]+)"
    r"/issues/)(?P<number>\d+)\b",
    re.IGNORECASE,
)
STATUSES = {"added": "added", "removed": "removed", "renamed": "renamed", "copied": "added"}


@dataclass
class RepoInfo:
    name: str
    license: str = ""
    stars: int = 0
    description: str = ""
    language: str = ""


@dataclass
class PullPage:
    """One page of the PR list, newest update first; `etag` of the first page only."""

    pulls: list[GithubPull]
    etag: str = ""
    not_modified: bool = False


@dataclass
class RepositoryReader:
    """PRs of one repository, read through `client`; `cache` keeps ETags and bodies."""

    client: GitHubClient
    repo: str
    cache: ResponseCache
    max_diff_bytes: int = 200_000
    issue_cache: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)

    def repository(self) -> RepoInfo:
        data = expect_json(dict, self._cached_get(f"/repos/{self.repo}"), f"/repos/{self.repo}")
        repo = self.client.github.create_from_raw_data(Repository, data)
        spdx = repo.license.spdx_id if repo.license else ""
        return RepoInfo(
            name=self.repo, license="" if spdx in (None, "NOASSERTION") else spdx,
            stars=repo.stargazers_count or 0, description=repo.description or "",
            language=repo.language or "",
        )

    def pull_pages(self, etag: str = "") -> Iterator[PullPage]:
        """Closed PRs, most recently updated first, a page at a time (Link pagination)."""
        url = f"/repos/{self.repo}/pulls"
        params: dict[str, Any] | None = {
            "state": "closed", "sort": "updated", "direction": "desc", "per_page": PER_PAGE}
        first = True
        while url:
            response = self.client.get(url, params, etag=etag if first else "")
            if response.not_modified:
                yield PullPage([], etag=etag, not_modified=True)
                return
            pulls = [self.client.github.create_from_raw_data(GithubPull, raw, response.headers)
                     for raw in expect_json(list, response.data, url)]
            url = next_link(response.headers.get("link", ""))
            yield PullPage(pulls, response.etag if first else "")
            params, first = None, False

    def pull_request(
        self, pull: GithubPull, *, with_files: bool = True, stored: PullRequest | None = None,
    ) -> PullRequest:
        """The PR record of a listed PR: one files request (per 100 files), no other.

        A merged PR's files never change, so when `stored` is the same change (same head
        and merge commits) and only the title, body or labels were edited, its files and
        diff are re-used without a request.
        """
        author = pull.user.login if pull.user else ""
        record = PullRequest(
            repo=self.repo, number=pull.number, title=pull.title or "", body=pull.body or "",
            author=author,
            author_is_bot=is_bot(author) or _is_app(pull)
            or is_bot_branch(pull.head.ref if pull.head else ""),
            merged_at=iso_time(pull.merged_at), base_sha=pull.base.sha if pull.base else "",
            head_sha=pull.head.sha if pull.head else "", merge_sha=pull.merge_commit_sha or "",
            source="github", url=pull.html_url or "",
        )
        if not with_files:
            return record
        if stored is not None and stored.files and record.head_sha and (
                stored.head_sha, stored.merge_sha) == (record.head_sha, record.merge_sha):
            record.files, record.diff = stored.files, stored.diff
            record.diff_truncated = stored.diff_truncated
        else:
            files = self.files(pull.number)
            record.files = [_file_change(f) for f in files]
            diff = "".join(patch_section(f) for f in files)
            record.diff, record.diff_truncated = truncate_diff(diff, self.max_diff_bytes)
        record.additions = sum(f.additions for f in record.files)
        record.deletions = sum(f.deletions for f in record.files)
        record.linked_issues = self.linked_issues(record.body)
        return record

    def files(self, number: int) -> list[File]:
        url = f"/repos/{self.repo}/pulls/{number}/files"
        params: dict[str, Any] | None = {"per_page": PER_PAGE}
        files: list[File] = []
        while url:
            response = self.client.get(url, params)
            files += [self.client.github.create_from_raw_data(File, raw, response.headers)
                      for raw in expect_json(list, response.data, url)]
            url, params = next_link(response.headers.get("link", "")), None
        return files

    def linked_issues(self, body: str) -> list[dict[str, Any]]:
        """Issues the PR body says it closes, with title and body where they can be read."""
        found: list[tuple[str, int]] = []
        for match in CLOSING.finditer(body or ""):
            repo = match.group("repo") or match.group("url_repo") or self.repo
            key = (repo, int(match.group("number")))
            if key not in found:
                found.append(key)
        return [self._issue(repo, number) for repo, number in found[:MAX_LINKED_ISSUES]]

    def _issue(self, repo: str, number: int) -> dict[str, Any]:
        key = (repo, number)
        if key not in self.issue_cache:
            issue: dict[str, Any] = {
                "repo": repo, "number": number, "title": "", "body": "",
                "url": f"https://github.com/{repo}/issues/{number}"}
            try:
                data = self._cached_get(f"/repos/{repo}/issues/{number}")
                issue.update(title=data.get("title") or "", body=data.get("body") or "",
                             state=data.get("state") or "")
            except (GithubException, GitHubUnavailable) as exc:
                issue["error"] = http_reason(exc)
            self.issue_cache[key] = issue
        return dict(self.issue_cache[key])

    def _cached_get(self, path: str) -> Any:
        """GET with If-None-Match from the store's cache; a 304 answers from the cache."""
        key = self.client.api_url + path
        etag, body = self.cache.cached_http_response(key)
        response = self.client.get(path, etag=etag if body is not None else "")
        if response.not_modified:
            return body
        # What is kept is redacted like everything else stored: no cache holds a secret.
        data = redact_json(response.data)
        if response.etag:
            self.cache.cache_http_response(key, response.etag, data)
        return data


def patch_section(file: File) -> str:
    """A git-style diff section for one pull file; a file without a patch is named only."""
    path, old = file.filename, file.previous_filename or file.filename
    lines = [f"diff --git a/{old} b/{path}\n"]
    if file.status == "added" or file.status == "copied":
        lines.append("new file mode 100644\n")
    elif file.status == "removed":
        lines.append("deleted file mode 100644\n")
    elif file.status == "renamed":
        lines.append(f"rename from {old}\nrename to {path}\n")
    patch = file.patch
    if not patch:
        if not _is_pure_rename(file):
            lines.append(f"Binary files a/{old} and b/{path} differ\n")
        return "".join(lines)
    lines.append("--- /dev/null\n" if file.status in ("added", "copied") else f"--- a/{old}\n")
    lines.append("+++ /dev/null\n" if file.status == "removed" else f"+++ b/{path}\n")
    lines.append(patch if patch.endswith("\n") else patch + "\n")
    return "".join(lines)


def _file_change(file: File) -> FileChange:
    return FileChange(
        path=file.filename, status=STATUSES.get(file.status, "modified"),
        additions=file.additions or 0, deletions=file.deletions or 0,
        previous_path=file.previous_filename or "",
        binary=not file.patch and not _is_pure_rename(file),
    )


def _is_pure_rename(file: File) -> bool:
    return file.status == "renamed" and not file.changes


def _is_app(pull: GithubPull) -> bool:
    return bool(pull.user) and pull.raw_data.get("user", {}).get("type") == "Bot"


