"""Tables `github_cursors`, `github_seen` and `http_etags`: GitHub crawl state (cursors,
which version of each PR was seen, cached ETags)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from prsynth.store.core import StoreCore, utcnow


@dataclass(frozen=True)
class GitHubCursor:
    """Where the last complete pass over a repository's PRs stopped.

    `updated_at` is the newest PR update that pass saw, `since` the oldest merge date
    it covered ("" for all history), `list_etag` the ETag of the first list page,
    `filters` the fingerprint of the filters that decided what was dropped.
    """

    updated_at: str
    since: str = ""
    list_etag: str = ""
    filters: str = ""


class GitHubTables(StoreCore):
    def github_cursor(self, repo: str) -> GitHubCursor | None:
        row = self.db.execute(
            "SELECT updated_at, since, list_etag, filters FROM github_cursors WHERE repo = ?",
            (repo,),
        ).fetchone()
        return GitHubCursor(row[0], row[1], row[2], row[3]) if row else None

    def set_github_cursor(self, repo: str, cursor: GitHubCursor) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO github_cursors"
                " (repo, updated_at, since, list_etag, filters, finished_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (repo) DO UPDATE SET"
                " updated_at = excluded.updated_at, since = excluded.since,"
                " list_etag = excluded.list_etag, filters = excluded.filters,"
                " finished_at = excluded.finished_at",
                (repo, cursor.updated_at, cursor.since, cursor.list_etag, cursor.filters,
                 utcnow()),
            )

    def github_seen(self, repo: str) -> dict[str, tuple[str, str]]:
        """PR id → (`updated_at`, filters fingerprint) of the version last stored or dropped."""
        rows = self.db.execute(
            "SELECT id, updated_at, filters FROM github_seen WHERE repo = ?", (repo,))
        return {r[0]: (r[1], r[2]) for r in rows}

    def mark_github_seen(self, pr_id: str, repo: str, updated_at: str, filters: str) -> None:
        """Call inside the transaction that stores or drops the PR, so both commit together."""
        with self.transaction() as db:
            db.execute(
                "INSERT INTO github_seen (id, repo, updated_at, filters) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (id) DO UPDATE SET updated_at = excluded.updated_at,"
                " filters = excluded.filters",
                (pr_id, repo, updated_at, filters),
            )

    def cached_http_response(self, url: str) -> tuple[str, Any]:
        """(ETag, JSON body) stored for `url`; ("", None) when nothing is cached."""
        row = self.db.execute("SELECT etag, body FROM http_etags WHERE url = ?", (url,)).fetchone()
        if not row:
            return "", None
        return row[0], json.loads(row[1]) if row[1] is not None else None

    def cache_http_response(self, url: str, etag: str, body: Any) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO http_etags (url, etag, body, stored_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (url) DO UPDATE SET etag = excluded.etag, body = excluded.body,"
                " stored_at = excluded.stored_at",
                (url, etag, json.dumps(body) if body is not None else None, utcnow()),
            )
