"""Tables `verifications` and `repo_clones`: verification results and the local clone each
repository was crawled from."""

from __future__ import annotations

import json
import re
from typing import Any

from prsynth.store.core import StoreCore, utcnow

LIST_COLUMNS = ("fail_to_pass", "pass_to_pass", "requirements")
DICT_COLUMNS = ("durations", "logs")
COLUMNS = ("pr_id", "environment", "status", "detail", "fail_to_pass", "pass_to_pass",
           "test_command", "python_version", "requirements", "env_key", "env_cache_hit",
           "durations", "logs", "fingerprint", "verified_at", "timeout")


class VerificationTables(StoreCore):
    def put_verification(self, result: dict[str, Any], fingerprint: str) -> None:
        """Store one task's result in its own transaction, replacing an older one."""
        row = dict(result, fingerprint=fingerprint, verified_at=utcnow())
        for column in LIST_COLUMNS:
            row[column] = json.dumps(row.get(column) or [])
        for column in DICT_COLUMNS:
            row[column] = json.dumps(row.get(column) or {})
        row["env_cache_hit"] = int(bool(row.get("env_cache_hit")))
        with self.transaction() as db:
            db.execute(
                f"INSERT OR REPLACE INTO verifications ({', '.join(COLUMNS)})"
                f" VALUES ({', '.join('?' for _ in COLUMNS)})",
                [row.get(c, "") for c in COLUMNS],
            )

    def verification_states(self, environment: str) -> dict[str, tuple[str, str, float]]:
        """pr_id -> (fingerprint, status, timeout it ran with; 0 = not recorded) of its
        latest row in `environment`, where `{version}` stands for any Python version
        (the docker runner's rows name their image: "docker:python:3.11-slim")."""
        glob = re.sub(r"([*?\[])", r"[\1]", environment).replace("{version}", "*")
        rows = self.db.execute(
            "SELECT pr_id, fingerprint, status, timeout FROM verifications"
            " WHERE environment GLOB ? ORDER BY verified_at", (glob,))
        return {r[0]: (r[1], r[2], r[3]) for r in rows}

    def verifications(self, pr_ids: list[str] | None = None) -> dict[str, dict[str, Any]]:
        """pr_id -> its latest verification row (any environment), JSON fields decoded."""
        rows = self.db.execute("SELECT * FROM verifications ORDER BY verified_at").fetchall()
        wanted = set(pr_ids) if pr_ids is not None else None
        found: dict[str, dict[str, Any]] = {}
        for row in rows:
            if wanted is None or row["pr_id"] in wanted:
                record = dict(row)
                for column in LIST_COLUMNS + DICT_COLUMNS:
                    record[column] = json.loads(record[column])
                found[row["pr_id"]] = record
        return found

    def verification_counts(self) -> dict[str, int]:
        rows = self.db.execute(
            "SELECT status, count(*) FROM verifications GROUP BY status ORDER BY status")
        return {r[0]: r[1] for r in rows}

    def candidate_pr_ids(self) -> list[str]:
        """Every PR with at least one query: the pool selection draws from."""
        return [r[0] for r in self.db.execute(
            "SELECT DISTINCT pr_id FROM queries ORDER BY pr_id")]

    def put_clone_path(self, repo: str, path: str) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO repo_clones (repo, path, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT (repo) DO UPDATE SET path = excluded.path,"
                " updated_at = excluded.updated_at", (repo, path, utcnow()))

    def clone_path(self, repo: str) -> str | None:
        row = self.db.execute("SELECT path FROM repo_clones WHERE repo = ?",
                              (repo,)).fetchone()
        return row[0] if row else None
