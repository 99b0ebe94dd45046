"""Verification results (one row per task and environment) and the local clone each
repository was crawled from."""

import sqlite3

from prsynth.migrations import run_script


def apply(db: sqlite3.Connection) -> None:
    run_script(
        db,
        """
        CREATE TABLE verifications (
            pr_id TEXT NOT NULL,
            environment TEXT NOT NULL,
            status TEXT NOT NULL,
            detail TEXT NOT NULL DEFAULT '',
            fail_to_pass TEXT NOT NULL DEFAULT '[]',
            pass_to_pass TEXT NOT NULL DEFAULT '[]',
            test_command TEXT NOT NULL DEFAULT '',
            python_version TEXT NOT NULL DEFAULT '',
            requirements TEXT NOT NULL DEFAULT '[]',
            env_key TEXT NOT NULL DEFAULT '',
            env_cache_hit INTEGER NOT NULL DEFAULT 0,
            durations TEXT NOT NULL DEFAULT '{}',
            logs TEXT NOT NULL DEFAULT '{}',
            fingerprint TEXT NOT NULL,
            verified_at TEXT NOT NULL,
            PRIMARY KEY (pr_id, environment)
        );
        CREATE TABLE repo_clones (
            repo TEXT PRIMARY KEY,
            path TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        """
    )
