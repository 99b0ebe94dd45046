"""Quality scores with their feature values, curation marks, and stored selection runs."""

import sqlite3

from prsynth.migrations import run_script


def apply(db: sqlite3.Connection) -> None:
    run_script(
        db,
        """
        CREATE TABLE scores (
            query_id TEXT PRIMARY KEY,
            quality REAL NOT NULL,
            features TEXT NOT NULL DEFAULT '{}',
            scored_at TEXT NOT NULL
        );
        CREATE TABLE marks (
            query_id TEXT PRIMARY KEY,
            mark TEXT NOT NULL CHECK (mark IN ('pin', 'reject')),
            note TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL
        );
        CREATE TABLE selections (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            name TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL,
            k INTEGER NOT NULL,
            method TEXT NOT NULL,
            seed INTEGER NOT NULL,
            params TEXT NOT NULL DEFAULT '{}',
            summary TEXT NOT NULL DEFAULT '{}'
        );
        CREATE TABLE selection_items (
            selection_id INTEGER NOT NULL REFERENCES selections (id) ON DELETE CASCADE,
            rank INTEGER NOT NULL,
            query_id TEXT NOT NULL,
            quality REAL NOT NULL,
            cluster INTEGER,
            why TEXT NOT NULL DEFAULT '{}',
            PRIMARY KEY (selection_id, rank)
        );
        CREATE INDEX selection_items_by_query ON selection_items (query_id);
        """
    )
