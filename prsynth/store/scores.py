"""Table `scores`: each query's quality and the feature values behind it."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from prsynth.store.core import StoreCore, utcnow


class ScoreTables(StoreCore):

    def replace_scores(self, rows: Iterable[tuple[str, float, dict[str, Any]]]) -> None:
        """Replace every stored score (call inside the score stage's transaction)."""
        now = utcnow()
        with self.transaction() as db:
            db.execute("DELETE FROM scores")
            db.executemany(
                "INSERT INTO scores (query_id, quality, features, scored_at) VALUES (?, ?, ?, ?)",
                [(q, quality, json.dumps(f, sort_keys=True), now) for q, quality, f in rows],
            )


    def query_scores(self) -> dict[str, float]:
        """query id → quality score in [0, 1], for every scored query."""
        return {r[0]: r[1] for r in self.db.execute("SELECT query_id, quality FROM scores")}


    def query_score(self, query_id: str) -> tuple[float, dict[str, Any]] | None:
        """(quality, stored feature breakdown) of one query, None when it is not scored."""
        row = self.db.execute(
            "SELECT quality, features FROM scores WHERE query_id = ?", (query_id,)
        ).fetchone()
        return (row[0], json.loads(row[1])) if row else None
