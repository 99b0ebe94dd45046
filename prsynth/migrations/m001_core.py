"""Core tables: repositories, pull requests, queries, drop reasons, stage fingerprints, meta."""

import sqlite3

from prsynth.migrations import run_script


def apply(db: sqlite3.Connection) -> None:
    run_script(
        db,
        """
        CREATE TABLE repos (
            name TEXT PRIMARY KEY,
            license TEXT NOT NULL DEFAULT '',
            stars INTEGER NOT NULL DEFAULT 0,
            description TEXT NOT NULL DEFAULT '',
            language TEXT NOT NULL DEFAULT '',
            updated_at TEXT NOT NULL
        );
        CREATE TABLE prs (
            id TEXT PRIMARY KEY,
            repo TEXT NOT NULL,
            number INTEGER NOT NULL,
            url TEXT NOT NULL,
            title TEXT NOT NULL,
            body TEXT NOT NULL DEFAULT '',
            author TEXT NOT NULL DEFAULT '',
            author_is_bot INTEGER NOT NULL DEFAULT 0,
            merged_at TEXT NOT NULL DEFAULT '',
            base_sha TEXT NOT NULL DEFAULT '',
            head_sha TEXT NOT NULL DEFAULT '',
            merge_sha TEXT NOT NULL DEFAULT '',
            additions INTEGER NOT NULL DEFAULT 0,
            deletions INTEGER NOT NULL DEFAULT 0,
            files TEXT NOT NULL DEFAULT '[]',
            diff TEXT NOT NULL DEFAULT '',
            diff_truncated INTEGER NOT NULL DEFAULT 0,
            diff_hash TEXT NOT NULL DEFAULT '',
            linked_issues TEXT NOT NULL DEFAULT '[]',
            license TEXT NOT NULL DEFAULT '',
            source TEXT NOT NULL,
            stars INTEGER NOT NULL DEFAULT 0,
            repo_description TEXT NOT NULL DEFAULT '',
            repo_language TEXT NOT NULL DEFAULT '',
            stored_at TEXT NOT NULL,
            UNIQUE (repo, number)
        );
        CREATE INDEX prs_by_merged ON prs (repo, merged_at);
        CREATE TABLE queries (
            id TEXT PRIMARY KEY,
            pr_id TEXT NOT NULL REFERENCES prs (id),
            query TEXT NOT NULL,
            prompt TEXT NOT NULL,
            model TEXT NOT NULL,
            created_at TEXT NOT NULL,
            tokens_in INTEGER NOT NULL DEFAULT 0,
            tokens_out INTEGER NOT NULL DEFAULT 0,
            cost_usd REAL NOT NULL DEFAULT 0,
            fields TEXT NOT NULL DEFAULT '{}'
        );
        CREATE INDEX queries_by_pr ON queries (pr_id);
        CREATE TABLE drops (
            stage TEXT NOT NULL,
            item TEXT NOT NULL,
            repo TEXT NOT NULL DEFAULT '',
            reason TEXT NOT NULL,
            detail TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            PRIMARY KEY (stage, item)
        );
        CREATE TABLE stages (
            stage TEXT PRIMARY KEY,
            fingerprint TEXT NOT NULL,
            finished_at TEXT NOT NULL,
            summary TEXT NOT NULL DEFAULT '{}'
        );
        CREATE TABLE meta (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );
        """
    )
