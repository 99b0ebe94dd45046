"""GitHub crawl state: per-repository cursors, the version of each PR seen, cached ETags."""

import sqlite3

from prsynth.migrations import run_script


def apply(db: sqlite3.Connection) -> None:
    run_script(
        db,
        """
        CREATE TABLE github_cursors (
            repo TEXT PRIMARY KEY,
            updated_at TEXT NOT NULL,
            since TEXT NOT NULL DEFAULT '',
            list_etag TEXT NOT NULL DEFAULT '',
            filters TEXT NOT NULL DEFAULT '',
            finished_at TEXT NOT NULL
        );
        CREATE TABLE github_seen (
            id TEXT PRIMARY KEY,
            repo TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            filters TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX github_seen_by_repo ON github_seen (repo);
        CREATE TABLE http_etags (
            url TEXT PRIMARY KEY,
            etag TEXT NOT NULL,
            body TEXT,
            stored_at TEXT NOT NULL
        );
        """
    )
