"""Tables `marks` (pin / reject), `selections` and `selection_items`: curation and the
named selection runs."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from prsynth.store.core import StoreCore, utcnow


@dataclass(frozen=True)
class Mark:
    query_id: str
    mark: str  # pin | reject
    note: str
    created_at: str


class SelectionTables(StoreCore):
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
