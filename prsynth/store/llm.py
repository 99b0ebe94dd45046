"""Tables `llm_cache`, `llm_calls` and `judgements`: answers by what determined them,
the call log, and judge ratings."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from prsynth.store.core import StoreCore, utcnow


@dataclass(frozen=True)
class CachedResponse:
    """A validated answer stored under the hash of what determined it."""

    data: dict[str, Any]
    model: str
    tokens_in: int
    tokens_out: int
    cost_usd: float


@dataclass(frozen=True)
class CallRecord:
    """One logged LLM call (re-asks and retries of one request are summed into it)."""

    template: str  # name@version
    model: str
    item: str = ""
    tokens_in: int = 0
    tokens_out: int = 0
    latency_s: float = 0.0
    cost_usd: float = 0.0
    attempts: int = 1
    status: str = "ok"  # ok | failed
    error: str = ""
    note: str = ""  # e.g. "prompt shrunk to fit a 4096-token context"


class LLMTables(StoreCore):
    def cached_response(self, key: str) -> CachedResponse | None:
        row = self.db.execute(
            "SELECT response, model, tokens_in, tokens_out, cost_usd FROM llm_cache WHERE key = ?",
            (key,),
        ).fetchone()
        if row is None:
            return None
        return CachedResponse(json.loads(row[0]), row[1], row[2], row[3], row[4])

    def cached_responses(self, keys: list[str]) -> dict[str, CachedResponse]:
        """The cached answers among `keys` (one query per 500 keys)."""
        found: dict[str, CachedResponse] = {}
        for start in range(0, len(keys), 500):
            part = keys[start:start + 500]
            rows = self.db.execute(
                "SELECT key, response, model, tokens_in, tokens_out, cost_usd FROM llm_cache"
                f" WHERE key IN ({', '.join('?' for _ in part)})", part,
            )
            for r in rows:
                found[r[0]] = CachedResponse(json.loads(r[1]), r[2], r[3], r[4], r[5])
        return found

    def cache_responses(self, entries: list[tuple[str, str, CachedResponse]]) -> None:
        """Cache (key, template@version, answer) triples in one statement."""
        now = utcnow()
        with self.transaction() as db:
            db.executemany(
                "INSERT INTO llm_cache (key, model, template, response, tokens_in, tokens_out,"
                " cost_usd, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (key) DO NOTHING",
                [(key, r.model, template, json.dumps(r.data, sort_keys=True), r.tokens_in,
                  r.tokens_out, r.cost_usd, now) for key, template, r in entries],
            )

    def log_llm_calls(self, calls: list[CallRecord]) -> None:
        now = utcnow()
        with self.transaction() as db:
            db.executemany(
                "INSERT INTO llm_calls (template, model, item, tokens_in, tokens_out, latency_s,"
                " cost_usd, attempts, status, error, note, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(c.template, c.model, c.item, c.tokens_in, c.tokens_out, c.latency_s,
                  c.cost_usd, c.attempts, c.status, c.error, c.note, now) for c in calls],
            )

    def llm_calls(self, template: str | None = None) -> list[CallRecord]:
        sql = ("SELECT template, model, item, tokens_in, tokens_out, latency_s, cost_usd,"
               " attempts, status, error, note FROM llm_calls")
        args: tuple = ()
        if template:
            sql += " WHERE template = ?"
            args = (template,)
        return [CallRecord(*row) for row in self.db.execute(sql + " ORDER BY id", args)]

    def llm_call_totals(self) -> dict[str, Any]:
        """Calls, failed calls, tokens and cost over the whole call log."""
        row = self.db.execute(
            "SELECT count(*), coalesce(sum(status != 'ok'), 0), coalesce(sum(tokens_in), 0),"
            " coalesce(sum(tokens_out), 0), coalesce(sum(cost_usd), 0) FROM llm_calls"
        ).fetchone()
        return {"calls": row[0], "failed_calls": row[1], "tokens_in": row[2],
                "tokens_out": row[3], "cost_usd": round(row[4], 6)}

    def put_batch(self, batch_id: str, scope: str, keys: list[str]) -> None:
        """Record a submitted Batch API batch (scope: template@version/model) and the
        cache keys it answers, committed at once so a killed run still knows it."""
        with self.transaction() as db:
            db.execute(
                "INSERT INTO llm_batches (id, scope, keys, status, created_at)"
                " VALUES (?, ?, ?, 'submitted', ?)", (batch_id, scope, json.dumps(keys), utcnow()))

    def open_batches(self, scope: str) -> list[tuple[str, list[str]]]:
        """(batch id, cache keys) of the batches of `scope` not yet collected, oldest first."""
        rows = self.db.execute(
            "SELECT id, keys FROM llm_batches WHERE scope = ? AND status = 'submitted'"
            " ORDER BY created_at, rowid", (scope,))
        return [(r[0], json.loads(r[1])) for r in rows]

    def finish_batch(self, batch_id: str, status: str) -> None:
        with self.transaction() as db:
            db.execute("UPDATE llm_batches SET status = ?, finished_at = ? WHERE id = ?",
                       (status, utcnow(), batch_id))

    def put_judgement(
        self, query_id: str, query_hash: str, prompt: str, model: str, rating: int, reason: str
    ) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO judgements (query_id, prompt, model, query_hash, rating, reason,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (query_id, prompt, model)"
                " DO UPDATE SET query_hash = excluded.query_hash, rating = excluded.rating,"
                " reason = excluded.reason, created_at = excluded.created_at",
                (query_id, prompt, model, query_hash, rating, reason, utcnow()),
            )

    def judged_hashes(self, prompt: str, model: str) -> dict[str, str]:
        """query id → hash of the query text it was judged on, for this prompt and model."""
        rows = self.db.execute(
            "SELECT query_id, query_hash FROM judgements WHERE prompt = ? AND model = ?",
            (prompt, model),
        )
        return {r[0]: r[1] for r in rows}

    def judge_ratings(self) -> dict[str, tuple[int, str]]:
        """query id → (rating 1-10, one-line reason); the latest judgement of each query."""
        rows = self.db.execute(
            "SELECT query_id, rating, reason FROM judgements ORDER BY created_at, rowid"
        )
        return {r[0]: (r[1], r[2]) for r in rows}
