"""Table `embeddings`: one vector per (model, text hash), so unchanged text is never
embedded twice."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from prsynth.store.core import StoreCore, text_hash, utcnow


class EmbeddingTables(StoreCore):

    def cached_text_hashes(self, model: str) -> set[str]:
        rows = self.db.execute("SELECT text_hash FROM embeddings WHERE model = ?", (model,))
        return {r[0] for r in rows}


    def put_vectors(self, model: str, vectors: Iterable[tuple[str, np.ndarray]]) -> int:
        """Cache (text hash, vector) pairs for `model` in one transaction, as float32 bytes."""
        now = utcnow()
        rows = [
            (model, key, int(vec.shape[0]), np.ascontiguousarray(vec, np.float32).tobytes(), now)
            for key, vec in vectors
        ]
        with self.transaction() as db:
            db.executemany(
                "INSERT INTO embeddings (model, text_hash, dim, vector, created_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (model, text_hash) DO NOTHING",
                rows,
            )
        return len(rows)


    def count_vectors(self, model: str | None = None) -> int:
        if model is None:
            return self.db.execute("SELECT count(*) FROM embeddings").fetchone()[0]
        return self.db.execute(
            "SELECT count(*) FROM embeddings WHERE model = ?", (model,)
        ).fetchone()[0]


    def query_vectors(self, model: str) -> tuple[list[str], np.ndarray]:
        """Ids (sorted) and an L2-normalized float32 matrix of the queries embedded by `model`.

        Zero vectors stay zero (normalizing them would divide by zero); the stages that
        need unit vectors refuse them with a clear error.
        """
        # Rows stream from SQLite straight into one preallocated matrix: no dict of blobs,
        # no joined copy (peak memory is the matrix plus one row).
        rows: dict[str, list[int]] = {}
        all_ids: list[str] = []
        for query_id, text in self.db.execute("SELECT id, query FROM queries ORDER BY id"):
            rows.setdefault(text_hash(text), []).append(len(all_ids))
            all_ids.append(query_id)
        matrix: np.ndarray | None = None
        found = np.zeros(len(all_ids), dtype=bool)
        for key, dim, blob in self.db.execute(
            "SELECT text_hash, dim, vector FROM embeddings WHERE model = ?", (model,)
        ):
            where = rows.get(key)
            if where is None:
                continue
            if matrix is None:
                matrix = np.empty((len(all_ids), dim), dtype=np.float32)
            matrix[where] = np.frombuffer(blob, dtype=np.float32)
            found[where] = True
        if matrix is None:
            return [], np.zeros((0, 0), dtype=np.float32)
        ids = [query_id for query_id, hit in zip(all_ids, found, strict=True) if hit]
        if not found.all():
            matrix = matrix[found]
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        np.divide(matrix, norms, out=matrix, where=norms > 0)
        return ids, matrix
