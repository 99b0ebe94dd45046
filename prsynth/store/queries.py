"""Table `queries`: synthesized requests, and the views of them (joined with their PRs)
that the stages read."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from prsynth.records import Query
from prsynth.store.core import StoreCore, utcnow

QUERY_COLUMNS = (
    "id", "pr_id", "query", "prompt", "model", "created_at", "tokens_in", "tokens_out",
    "cost_usd", "fields",
)


@dataclass(frozen=True)
class QuerySource:
    """A query with what dedupe, cluster and the cluster views need from its PR."""

    query_id: str
    text: str
    created_at: str
    pr_id: str
    repo: str
    title: str
    merged_at: str
    diff_hash: str


@dataclass(frozen=True)
class ScoreInput:
    """What the quality features read of one query and its PR (everything but the diff)."""

    query_id: str
    query: str
    fields: dict[str, Any]
    pr_id: str
    repo: str
    title: str
    body: str
    additions: int
    deletions: int
    files: list[dict[str, Any]]
    linked_issues: list[Any]
    license: str
    stars: int
    language: str

    def key(self) -> tuple[Any, ...]:
        """Everything that determines this query's features, for the stage fingerprint."""
        return (
            self.query_id, self.query, json.dumps(self.fields, sort_keys=True), self.pr_id,
            self.title, self.body, self.additions, self.deletions,
            json.dumps(self.files, sort_keys=True), json.dumps(self.linked_issues, sort_keys=True),
            self.license, self.stars, self.language,
        )


class QueryTables(StoreCore):
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


    def query_ids_for(self, prompt: str, model: str) -> set[str]:
        """PR ids that already have a query from this template@version and model."""
        rows = self.db.execute(
            "SELECT pr_id FROM queries WHERE prompt = ? AND model = ?", (prompt, model)
        )
        return {r[0] for r in rows}


    def query_sources(self) -> list[QuerySource]:
        """Every query with its PR's repository, title, merge date and diff hash, by id."""
        rows = self.db.execute(
            "SELECT q.id, q.query, q.created_at, q.pr_id, p.repo, p.title, p.merged_at,"
            " p.diff_hash FROM queries q LEFT JOIN prs p ON p.id = q.pr_id ORDER BY q.id"
        ).fetchall()
        return [
            QuerySource(r[0], r[1], r[2], r[3], r[4] or "", r[5] or "", r[6] or "", r[7] or "")
            for r in rows
        ]


    def score_inputs(self) -> list[ScoreInput]:
        """Every query with its PR's metadata (PR fields empty when the PR is missing), by id."""
        rows = self.db.execute(
            "SELECT q.id, q.query, q.fields, q.pr_id, coalesce(p.repo, ''), coalesce(p.title, ''),"
            " coalesce(p.body, ''), coalesce(p.additions, 0), coalesce(p.deletions, 0),"
            " coalesce(p.files, '[]'), coalesce(p.linked_issues, '[]'), coalesce(p.license, ''),"
            " coalesce(p.stars, 0), coalesce(p.repo_language, '')"
            " FROM queries q LEFT JOIN prs p ON p.id = q.pr_id ORDER BY q.id"
        ).fetchall()
        return [
            ScoreInput(
                r[0], r[1], json.loads(r[2]), r[3], r[4], r[5], r[6], r[7], r[8],
                json.loads(r[9]), json.loads(r[10]), r[11], r[12], r[13],
            )
            for r in rows
        ]


def _query_from_row(row: sqlite3.Row) -> Query:
    return Query(
        id=row["id"], pr_id=row["pr_id"], query=row["query"], prompt=row["prompt"],
        model=row["model"], created_at=row["created_at"], tokens_in=row["tokens_in"],
        tokens_out=row["tokens_out"], cost_usd=row["cost_usd"], fields=json.loads(row["fields"]),
    )
