"""Peek into a store that another process is writing (for the kill -9 tests)."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def stored_pr_count(store: Path) -> int:
    """PRs committed so far; 0 while the file or its schema does not exist yet."""
    if not store.exists():
        return 0
    try:
        with sqlite3.connect(store) as db:
            return db.execute("SELECT count(*) FROM prs").fetchone()[0]
    except sqlite3.OperationalError:
        return 0
