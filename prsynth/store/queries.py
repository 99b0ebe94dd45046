"""Synthesized queries."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator

from prsynth.records import Query
from prsynth.store.core import StoreCore, utcnow

QUERY_COLUMNS = (
    "id", "pr_id", "query", "prompt", "model", "created_at", "tokens_in", "tokens_out",
    "cost_usd", "fields",
)


class QueryStore(StoreCore):
    def put_query(self, query: Query) -> None:
        """Store (or replace) one query in its own transaction."""
        values = [
            query.id, query.pr_id, query.query, query.prompt, query.model,
            query.created_at or utcnow(), query.tokens_in, query.tokens_out, query.cost_usd,
            json.dumps(query.fields, sort_keys=True),
        ]
        updates = ", ".join(f"{c} = excluded.{c}" for c in QUERY_COLUMNS if c != "id")
        with self.transaction() as db:
            db.execute(
                f"INSERT INTO queries ({', '.join(QUERY_COLUMNS)})"
                f" VALUES ({', '.join('?' for _ in QUERY_COLUMNS)})"
                f" ON CONFLICT (id) DO UPDATE SET {updates}",
                values,
            )

    def get_query(self, query_id: str) -> Query | None:
        row = self.db.execute("SELECT * FROM queries WHERE id = ?", (query_id,)).fetchone()
        return _query_from_row(row) if row else None

    def iter_queries(self) -> Iterator[Query]:
        for row in self.db.execute("SELECT * FROM queries ORDER BY id").fetchall():
            yield _query_from_row(row)

    def query_task_types(self) -> dict[str, str]:
        """query id → the task type synthesis gave it ("" when none)."""
        rows = self.db.execute(
            "SELECT id, json_extract(fields, '$.task_type') FROM queries").fetchall()
        return {r[0]: str(r[1] or "") for r in rows}

    def count_queries(self) -> int:
        return self.db.execute("SELECT count(*) FROM queries").fetchone()[0]


def _query_from_row(row: sqlite3.Row) -> Query:
    return Query(
        id=row["id"], pr_id=row["pr_id"], query=row["query"], prompt=row["prompt"],
        model=row["model"], created_at=row["created_at"], tokens_in=row["tokens_in"],
        tokens_out=row["tokens_out"], cost_usd=row["cost_usd"], fields=json.loads(row["fields"]),
    )
