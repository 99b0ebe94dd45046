"""The per-test-run timeout each verification ran with (0 = not recorded), so a re-run
with a larger --timeout retries the tasks that timed out."""

import sqlite3

from prsynth.migrations import run_script


def apply(db: sqlite3.Connection) -> None:
    run_script(db, "ALTER TABLE verifications ADD COLUMN timeout REAL NOT NULL DEFAULT 0;\n")
