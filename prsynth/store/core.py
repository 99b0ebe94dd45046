"""Opening, migrating and transacting on the SQLite store."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from prsynth.errors import ConfigError, DiskFull, StoreError
from prsynth.migrations import all_migrations

# PRAGMA application_id marks a file as a prsynth store ("PRSY" in ASCII), so another
# tool's SQLite database is refused instead of being written into.
APPLICATION_ID = 0x50525359


def fingerprint(*parts: Any) -> str:
    """A stable id of what determines a stage's output (config ids, input hashes)."""
    blob = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def text_hash(text: str) -> str:
    """The cache key of a text (embeddings, judge ratings): sha256 of its exact UTF-8 bytes."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def utcnow() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _writable(path: Path) -> bool:
    """Whether the store can be written: the file (when it exists) and its folder, which
    SQLite needs for its journal and WAL side files."""
    if path.exists() and not os.access(path, os.W_OK):
        return False
    return os.access(path.parent, os.W_OK)


def _disk_full(folder: Path) -> bool:
    """Less room left than SQLite needs for its side files (the -shm index is 32 KiB)."""
    stats = os.statvfs(folder)
    return stats.f_bavail * stats.f_frsize < 64 * 1024


def explain_sqlite_error(exc: sqlite3.Error, path: str | Path) -> StoreError | None:
    """A one-line StoreError for what SQLite says about a damaged, read-only or full store
    (None: not one of those, a bug). Every command goes through this (the CLI)."""
    text = str(exc)
    if "Could not decode to UTF-8" in text or "malformed" in text or "not a database" in text:
        return StoreError(
            f"store {path} is damaged ({text.split(' with text ')[0]}); recover what it holds"
            f" with `sqlite3 {path} .recover | sqlite3 NEW.db`, or restore a backup"
        )
    if "readonly" in text:
        return StoreError(
            f"store {path} is read-only; make the file and its folder writable to run this"
            " command"
        )
    if "disk is full" in text:
        return StoreError(f"disk full while writing store {path}; nothing stored was lost")
    return None


class StoreCore:
    """One SQLite file in WAL mode. All SQL in prsynth lives in the `prsynth.store` package."""

    def __init__(self, path: str | Path, *, migrate: bool = True, create: bool = True) -> None:
        """Open the store at `path`. `create=False` (commands that only read) refuses a
        missing file instead of making an empty store, and opens a store on a read-only
        file or folder read-only; a command that writes to such a store is told so."""
        self.path = Path(path)
        if self.path.is_dir():
            raise StoreError(f"store {self.path} is a directory; pass a file path to --store")
        if not self.path.parent.exists():
            raise StoreError(
                f"store {self.path}: folder {self.path.parent} does not exist; create it first"
            )
        if not create and not self.path.exists():
            raise ConfigError(
                f"store {self.path} does not exist; check --store (a crawl creates a store)"
            )
        self.read_only = not _writable(self.path)
        if self.read_only and create:
            raise StoreError(
                f"store {self.path} is read-only (file or folder not writable); make it "
                "writable, or use a command that only reads (stats, export, clusters, dupes)"
            )
        self._lock = threading.RLock()
        try:
            self.db = self._connect()
            self.db.row_factory = sqlite3.Row
            self._check_identity()
            if not self.read_only:
                self.db.execute("PRAGMA journal_mode=WAL")
                self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA foreign_keys=ON")
        except sqlite3.DatabaseError as exc:
            if _disk_full(self.path.parent):
                raise DiskFull(f"disk full while opening store {self.path}; nothing stored "
                               "was lost, free some space and run it again") from None
            raise StoreError(
                f"store {self.path} is not a usable SQLite database ({exc}); "
                "point --store at a prsynth store or a new file"
            ) from None
        if migrate:
            try:
                self.migrate()
            except BaseException:
                self.db.close()
                raise

    def _connect(self) -> sqlite3.Connection:
        if not self.read_only:
            return sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=30
            )
        # A WAL store in a folder nobody may write to cannot get its -shm file: it is
        # opened immutable then (nobody can be writing to it either).
        uri = self.path.resolve().as_uri()
        mode = "mode=ro" if os.access(self.path.parent, os.W_OK) else "immutable=1"
        return sqlite3.connect(f"{uri}?{mode}", uri=True, isolation_level=None,
                               check_same_thread=False, timeout=30)

    def _check_identity(self) -> None:
        app_id = self.db.execute("PRAGMA application_id").fetchone()[0]
        tables = self.db.execute(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
        ).fetchone()[0]
        if app_id not in (0, APPLICATION_ID) or (app_id == 0 and tables):
            raise StoreError(
                f"store {self.path} is a SQLite database of another program, not a prsynth "
                "store; point --store at a prsynth store or a new file"
            )

    @property
    def schema_version(self) -> int:
        return self.db.execute("PRAGMA user_version").fetchone()[0]

    def migrate(self) -> list[str]:
        """Apply every migration the store has not recorded, each in its own transaction.

        Not only those numbered above the store's version: a migration merged after a
        higher-numbered one (parallel branches) still reaches stores made in between.
        """
        migrations = all_migrations()
        current = self.schema_version
        latest = migrations[-1].number if migrations else 0
        if current > latest:
            raise StoreError(
                f"store {self.path} has schema {current}, newer than this prsynth knows "
                f"({latest}); upgrade prsynth"
            )
        recorded = {
            r[0] for r in self.db.execute("SELECT number FROM migrations")
        } if current else set()
        if current and max(recorded, default=0) != current:
            raise StoreError(
                f"store {self.path} is inconsistent: its schema version is {current} but its "
                f"migrations table records {max(recorded, default=0)}; restore a backup, or "
                "export what it holds (`prsynth export prs`) and import it into a new store"
            )
        pending = [m for m in migrations if m.number not in recorded]
        if pending and self.read_only:
            raise StoreError(
                f"store {self.path} is read-only and needs an upgrade to schema {latest};"
                " make it writable and run any command once"
            )
        applied = []
        for migration in pending:
            with self.transaction():
                if migration.number == 1:
                    self.db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                    self.db.execute(
                        "CREATE TABLE migrations (number INTEGER PRIMARY KEY, name TEXT NOT NULL,"
                        " applied_at TEXT NOT NULL)"
                    )
                migration.module.apply(self.db)
                self.db.execute(
                    "INSERT INTO migrations (number, name, applied_at) VALUES (?, ?, ?)",
                    (migration.number, migration.name, utcnow()),
                )
                self.db.execute(f"PRAGMA user_version = {max(current, migration.number)}")
            applied.append(migration.name)
        return applied

    def applied_migrations(self) -> list[str]:
        return [r["name"] for r in self.db.execute("SELECT name FROM migrations ORDER BY number")]

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One unit of work: committed whole or not at all (nested calls join the outer one)."""
        with self._lock:
            if self.db.in_transaction:
                yield self.db
                return
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row["value"] if row else default

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction():
            self.db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    def stage_fingerprint(self, stage: str) -> str | None:
        """The fingerprint a stage stored when it last finished (None: never ran)."""
        row = self.db.execute(
            "SELECT fingerprint FROM stages WHERE stage = ?", (stage,)
        ).fetchone()
        return row["fingerprint"] if row else None

    def stage_summary(self, stage: str) -> dict[str, Any]:
        row = self.db.execute("SELECT summary FROM stages WHERE stage = ?", (stage,)).fetchone()
        return json.loads(row["summary"]) if row else {}

    def finish_stage(
        self, stage: str, fingerprint: str, summary: dict[str, Any] | None = None
    ) -> None:
        """Record that `stage` finished for `fingerprint` (call inside the stage's last
        transaction, so results and fingerprint commit together)."""
        with self.transaction() as db:
            db.execute(
                "INSERT INTO stages (stage, fingerprint, finished_at, summary) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (stage) DO UPDATE SET fingerprint = excluded.fingerprint,"
                " finished_at = excluded.finished_at, summary = excluded.summary",
                (stage, fingerprint, utcnow(), json.dumps(summary or {}, sort_keys=True)),
            )

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
