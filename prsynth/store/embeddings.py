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
        cached = {
            r[0]: r[1]
            for r in self.db.execute(
                "SELECT text_hash, vector FROM embeddings WHERE model = ?", (model,)
            )
        }
        ids: list[str] = []
        blobs: list[bytes] = []
        for query_id, text in self.db.execute("SELECT id, query FROM queries ORDER BY id"):
            blob = cached.get(text_hash(text))
            if blob is not None:
                ids.append(query_id)
                blobs.append(blob)
        if not blobs:
            return [], np.zeros((0, 0), dtype=np.float32)
        matrix = np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(blobs), -1).copy()
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        np.divide(matrix, norms, out=matrix, where=norms > 0)
        return ids, matrix
