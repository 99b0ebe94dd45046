"""Quality scores, curation marks (pin / reject) and named selection runs."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from prsynth.store.core import StoreCore, utcnow


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


@dataclass(frozen=True)
class Mark:
    query_id: str
    mark: str  # pin | reject
    note: str
    created_at: str


class SelectionStore(StoreCore):
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

    def set_mark(self, query_id: str, mark: str, note: str = "") -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO marks (query_id, mark, note, created_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (query_id) DO UPDATE SET mark = excluded.mark,"
                " note = excluded.note, created_at = excluded.created_at",
                (query_id, mark, note, utcnow()),
            )

    def clear_mark(self, query_id: str) -> bool:
        """Remove a query's mark; False when it had none."""
        with self.transaction() as db:
            cursor = db.execute("DELETE FROM marks WHERE query_id = ?", (query_id,))
        return cursor.rowcount > 0

    def marks(self) -> dict[str, Mark]:
        """query id → its pin or reject mark."""
        return {
            r[0]: Mark(r[0], r[1], r[2], r[3])
            for r in self.db.execute(
                "SELECT query_id, mark, note, created_at FROM marks ORDER BY query_id"
            )
        }

    def save_selection(
        self, name: str, *, k: int, method: str, seed: int, params: dict[str, Any],
        summary: dict[str, Any], items: Iterable[dict[str, Any]],
    ) -> int:
        """Store one selection run with its ranked items (replacing a run of the same name)."""
        with self.transaction() as db:
            db.execute("DELETE FROM selections WHERE name = ?", (name,))
            cursor = db.execute(
                "INSERT INTO selections (name, created_at, k, method, seed, params, summary)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (name, utcnow(), k, method, seed, json.dumps(params, sort_keys=True),
                 json.dumps(summary, sort_keys=True)),
            )
            selection_id = int(cursor.lastrowid)
            db.executemany(
                "INSERT INTO selection_items (selection_id, rank, query_id, quality, cluster, why)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (selection_id, i["rank"], i["query_id"], i["quality"], i.get("cluster"),
                     json.dumps(i.get("why") or {}, sort_keys=True))
                    for i in items
                ],
            )
        return selection_id

    def selections(self) -> list[dict[str, Any]]:
        """Every stored selection run, newest first."""
        rows = self.db.execute(
            "SELECT s.*, (SELECT count(*) FROM selection_items i WHERE i.selection_id = s.id)"
            " AS items FROM selections s ORDER BY s.id DESC"
        ).fetchall()
        return [_selection_from_row(r) for r in rows]

    def latest_selection(self) -> dict[str, Any] | None:
        rows = self.selections()
        return rows[0] if rows else None

    def find_selection(self, name: str) -> dict[str, Any] | None:
        """The selection run called `name` (or with that numeric id)."""
        return next((s for s in self.selections() if name in (s["name"], str(s["id"]))), None)

    def selection_items(self, selection_id: int) -> list[dict[str, Any]]:
        """rank, query_id, quality, cluster and why of one run's items, by rank."""
        rows = self.db.execute(
            "SELECT rank, query_id, quality, cluster, why FROM selection_items"
            " WHERE selection_id = ? ORDER BY rank",
            (selection_id,),
        )
        return [
            {"rank": r[0], "query_id": r[1], "quality": r[2], "cluster": r[3],
             "why": json.loads(r[4])}
            for r in rows
        ]

    def selected_query_ids(self) -> set[str] | None:
        """The queries of the latest selection run; None when nothing was selected yet."""
        latest = self.latest_selection()
        if latest is None:
            return None
        return {i["query_id"] for i in self.selection_items(latest["id"])}


def _selection_from_row(row: Any) -> dict[str, Any]:
    return {
        "id": row["id"], "name": row["name"], "created_at": row["created_at"], "k": row["k"],
        "method": row["method"], "seed": row["seed"], "params": json.loads(row["params"]),
        "summary": json.loads(row["summary"]), "items": row["items"],
    }
