"""Embedding cache, duplicate groups, clusters with their labels, and 2-D map coordinates."""

import sqlite3

from prsynth.migrations import run_script


def apply(db: sqlite3.Connection) -> None:
    run_script(
        db,
        """
        CREATE TABLE embeddings (
            model TEXT NOT NULL,
            text_hash TEXT NOT NULL,
            dim INTEGER NOT NULL,
            vector BLOB NOT NULL,
            created_at TEXT NOT NULL,
            PRIMARY KEY (model, text_hash)
        );
        CREATE TABLE duplicates (
            query_id TEXT PRIMARY KEY,
            representative TEXT NOT NULL,
            reason TEXT NOT NULL,
            similarity REAL NOT NULL
        );
        CREATE INDEX duplicates_by_representative ON duplicates (representative);
        CREATE TABLE clusters (
            query_id TEXT PRIMARY KEY,
            cluster INTEGER NOT NULL,
            distance REAL NOT NULL
        );
        CREATE INDEX clusters_by_cluster ON clusters (cluster, distance);
        CREATE TABLE cluster_labels (
            cluster INTEGER PRIMARY KEY,
            label TEXT NOT NULL,
            terms TEXT NOT NULL DEFAULT '[]'
        );
        CREATE TABLE map_coordinates (
            query_id TEXT PRIMARY KEY,
            x REAL NOT NULL,
            y REAL NOT NULL
        );
        """
    )
