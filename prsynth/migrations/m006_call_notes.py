"""A note on each logged LLM call (e.g. its prompt was shrunk after a context refusal)."""

import sqlite3

from prsynth.migrations import run_script


def apply(db: sqlite3.Connection) -> None:
    run_script(db, "ALTER TABLE llm_calls ADD COLUMN note TEXT NOT NULL DEFAULT '';\n")
