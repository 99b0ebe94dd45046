"""Tables `repos`, `prs` and `drops`: pull requests, their repositories, and the reason
for everything dropped on the way."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from typing import Any

from prsynth.records import FileChange, PullRequest
from prsynth.store.core import StoreCore, utcnow
from prsynth.text.diffs import normalized_diff_hash

PR_COLUMNS = (
    "id", "repo", "number", "url", "title", "body", "author", "author_is_bot", "merged_at",
    "base_sha", "head_sha", "merge_sha", "additions", "deletions", "files", "diff",
    "diff_truncated", "diff_hash", "linked_issues", "license", "source", "stars",
    "repo_description", "repo_language", "stored_at",
)


class PullRequestTables(StoreCore):
    def put_pr(
        self, pr: PullRequest, *, replace: bool = True, row: dict[str, object] | None = None,
    ) -> bool:
        """Store one PR in its own transaction; return False when it existed and was kept.

        `row` is `pr_row(pr)` when the caller computed it already."""
        row = row if row is not None else pr_row(pr)
        placeholders = ", ".join("?" for _ in PR_COLUMNS)
        if replace:
            updates = ", ".join(f"{c} = excluded.{c}" for c in PR_COLUMNS if c != "id")
            conflict = f"ON CONFLICT (id) DO UPDATE SET {updates}"
        else:
            conflict = "ON CONFLICT (id) DO NOTHING"
        with self.transaction() as db:
            cursor = db.execute(
                f"INSERT INTO prs ({', '.join(PR_COLUMNS)}) VALUES ({placeholders}) {conflict}",
                [row[c] for c in PR_COLUMNS],
            )
            db.execute("DELETE FROM drops WHERE stage = 'crawl' AND item = ?", (pr.id,))
        return cursor.rowcount > 0

    def put_repo(
        self, name: str, *, license: str = "", stars: int = 0, description: str = "",
        language: str = "",
    ) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO repos (name, license, stars, description, language, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET"
                " license = excluded.license, stars = excluded.stars,"
                " description = excluded.description, language = excluded.language,"
                " updated_at = excluded.updated_at",
                (name, license, stars, description, language, utcnow()),
            )

    def pr_ids(self, repo: str | None = None) -> set[str]:
        if repo is None:
            return {r[0] for r in self.db.execute("SELECT id FROM prs")}
        return {r[0] for r in self.db.execute("SELECT id FROM prs WHERE repo = ?", (repo,))}

    def get_pr(self, pr_id: str) -> PullRequest | None:
        row = self.db.execute("SELECT * FROM prs WHERE id = ?", (pr_id,)).fetchone()
        return _pr_from_row(row) if row else None

    def iter_prs(self, repo: str | None = None) -> Iterator[PullRequest]:
        sql = "SELECT * FROM prs"
        args: tuple = ()
        if repo:
            sql += " WHERE repo = ?"
            args = (repo,)
        for row in self.db.execute(sql + " ORDER BY repo, number", args).fetchall():
            yield _pr_from_row(row)

    def count_prs(self) -> int:
        return self.db.execute("SELECT count(*) FROM prs").fetchone()[0]

    def prs_per_repo(self) -> dict[str, int]:
        rows = self.db.execute("SELECT repo, count(*) FROM prs GROUP BY repo ORDER BY repo")
        return {r[0]: r[1] for r in rows}

    def record_drop(
        self, stage: str, item: str, reason: str, *, repo: str = "", detail: str = ""
    ) -> None:
        """Remember why `item` was dropped at `stage`; re-dropping it does not count twice."""
        with self.transaction() as db:
            db.execute(
                "INSERT INTO drops (stage, item, repo, reason, detail, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (stage, item) DO UPDATE SET"
                " reason = excluded.reason, detail = excluded.detail",
                (stage, item, repo, reason, detail, utcnow()),
            )

    def dropped_items(self, stage: str, repo: str | None = None) -> set[str]:
        sql, args = "SELECT item FROM drops WHERE stage = ?", [stage]
        if repo is not None:
            sql += " AND repo = ?"
            args.append(repo)
        return {r[0] for r in self.db.execute(sql, args)}

    def drop_reasons(self, stage: str, repo: str | None = None) -> dict[str, str]:
        """item → reason of every drop at `stage` (of `repo`, when given)."""
        sql, args = "SELECT item, reason FROM drops WHERE stage = ?", [stage]
        if repo is not None:
            sql += " AND repo = ?"
            args.append(repo)
        return {r[0]: r[1] for r in self.db.execute(sql, args)}

    def task_dropped_pr_ids(self) -> set[str]:
        """Stored PRs that the crawl filters drop (rechecked after they were stored)."""
        rows = self.db.execute(
            "SELECT d.item FROM drops d JOIN prs p ON p.id = d.item WHERE d.stage = 'crawl'")
        return {r[0] for r in rows}

    def drop_counts(self) -> list[tuple[str, str, str, int]]:
        """(stage, repo, reason, count) for every drop reason, in stable order."""
        rows = self.db.execute(
            "SELECT stage, repo, reason, count(*) FROM drops"
            " GROUP BY stage, repo, reason ORDER BY stage, repo, reason"
        )
        return [tuple(r) for r in rows]


    def clear_drops(self, stage: str, items: list[str]) -> None:
        """Forget why `items` were dropped at `stage` (they succeeded since)."""
        with self.transaction() as db:
            db.executemany("DELETE FROM drops WHERE stage = ? AND item = ?",
                           [(stage, item) for item in items])


    def repo_info(self, name: str) -> dict[str, Any] | None:
        row = self.db.execute(
            "SELECT license, stars, description, language FROM repos WHERE name = ?", (name,)
        ).fetchone()
        return dict(row) if row else None


def pr_row(pr: PullRequest) -> dict[str, object]:
    return {
        "id": pr.id, "repo": pr.repo, "number": pr.number, "url": pr.url, "title": pr.title,
        "body": pr.body or "", "author": pr.author or "", "author_is_bot": int(pr.author_is_bot),
        "merged_at": pr.merged_at or "", "base_sha": pr.base_sha, "head_sha": pr.head_sha,
        "merge_sha": pr.merge_sha, "additions": pr.additions, "deletions": pr.deletions,
        "files": json.dumps([vars(f) for f in pr.files]), "diff": pr.diff,
        "diff_truncated": int(pr.diff_truncated), "diff_hash": normalized_diff_hash(pr.diff),
        "linked_issues": json.dumps(pr.linked_issues), "license": pr.license or "",
        "source": pr.source, "stars": pr.stars, "repo_description": pr.repo_description or "",
        "repo_language": pr.repo_language or "", "stored_at": utcnow(),
    }


def _pr_from_row(row: sqlite3.Row) -> PullRequest:
    return PullRequest(
        repo=row["repo"], number=row["number"], title=row["title"], body=row["body"],
        author=row["author"], author_is_bot=bool(row["author_is_bot"]),
        merged_at=row["merged_at"], base_sha=row["base_sha"], head_sha=row["head_sha"],
        merge_sha=row["merge_sha"], additions=row["additions"], deletions=row["deletions"],
        files=[FileChange(**f) for f in json.loads(row["files"])], diff=row["diff"],
        diff_truncated=bool(row["diff_truncated"]),
        linked_issues=json.loads(row["linked_issues"]), license=row["license"],
        source=row["source"], url=row["url"], stars=row["stars"],
        repo_description=row["repo_description"], repo_language=row["repo_language"],
    )
