"""A note on each logged LLM call (e.g. its prompt was shrunk after a context refusal),
and the Batch API batches a run submitted, so a later run resumes instead of resubmitting."""

import sqlite3

from prsynth.migrations import run_script


def apply(db: sqlite3.Connection) -> None:
    run_script(
        db,
        """
        ALTER TABLE llm_calls ADD COLUMN note TEXT NOT NULL DEFAULT '';
        CREATE TABLE llm_batches (
            id TEXT PRIMARY KEY,
            scope TEXT NOT NULL,
            keys TEXT NOT NULL,
            status TEXT NOT NULL,
            created_at TEXT NOT NULL,
            finished_at TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX llm_batches_open ON llm_batches (scope, status);
        """,
    )
