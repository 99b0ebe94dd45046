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
        """Cache (text hash, vector) pairs for `model` in one transaction, as float16 bytes
        (half the size; neighbours and duplicate groups unchanged, docs/architecture.md
        "Vectors in the store"). A vector is scaled to unit length first: every reader
        normalizes anyway, and float16 keeps unit components to ~4 significant digits."""
        now = utcnow()
        rows = [
            (model, key, int(vec.shape[0]), _half(vec).tobytes(), now)
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
        need unit vectors refuse them with a clear error. Rows stored as float16 (2 bytes
        a component) and older float32 rows (4 bytes) both read: the blob's length tells.
        """
        # Which queries have a vector is known before any blob is read, so rows stream
        # from SQLite straight into one matrix of the final size: no dict of blobs, no
        # joined copy, no second matrix for the missing rows (peak: the matrix plus a row).
        rows: dict[str, list[int]] = {}
        all_ids: list[str] = []
        for query_id, text in self.db.execute("SELECT id, query FROM queries ORDER BY id"):
            rows.setdefault(text_hash(text), []).append(len(all_ids))
            all_ids.append(query_id)
        found = np.zeros(len(all_ids), dtype=bool)
        for (key,) in self.db.execute(
            "SELECT text_hash FROM embeddings WHERE model = ?", (model,)
        ):
            if key in rows:
                found[rows[key]] = True
        row_of = np.cumsum(found) - 1
        ids = [query_id for query_id, hit in zip(all_ids, found, strict=True) if hit]
        matrix: np.ndarray | None = None
        for key, dim, blob in self.db.execute(
            "SELECT text_hash, dim, vector FROM embeddings WHERE model = ?", (model,)
        ):
            where = rows.get(key)
            if where is None:
                continue
            if matrix is None:
                matrix = np.empty((len(ids), dim), dtype=np.float32)
            dtype = np.float16 if len(blob) == 2 * dim else np.float32
            matrix[row_of[where]] = np.frombuffer(blob, dtype=dtype)
        if matrix is None:
            return [], np.zeros((0, 0), dtype=np.float32)
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        np.divide(matrix, norms, out=matrix, where=norms > 0)
        return ids, matrix


def _half(vector: np.ndarray) -> np.ndarray:
    vector = np.asarray(vector, dtype=np.float32)
    norm = float(np.linalg.norm(vector))
    return (vector / norm if norm > 0 else vector).astype(np.float16)
