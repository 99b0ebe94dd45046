"""Embedding vectors, duplicate groups, clusters, cluster labels and map coordinates."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from prsynth.store.core import StoreCore, text_hash, utcnow


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
class Duplicate:
    """One duplicate query and why it belongs to its representative's group."""

    query_id: str
    representative: str
    reason: str  # exact | same_change | near
    similarity: float


class VectorStore(StoreCore):
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

    def replace_duplicates(self, duplicates: Iterable[Duplicate]) -> None:
        """Replace every recorded duplicate group (call inside the dedupe transaction)."""
        with self.transaction() as db:
            db.execute("DELETE FROM duplicates")
            db.executemany(
                "INSERT INTO duplicates (query_id, representative, reason, similarity)"
                " VALUES (?, ?, ?, ?)",
                [(d.query_id, d.representative, d.reason, d.similarity) for d in duplicates],
            )

    def duplicate_query_ids(self) -> set[str]:
        """Queries that duplicate another one (not their group's representative)."""
        return {r[0] for r in self.db.execute("SELECT query_id FROM duplicates")}

    def duplicate_groups(self) -> dict[str, list[Duplicate]]:
        """representative → its duplicates, largest groups first."""
        groups: dict[str, list[Duplicate]] = {}
        for r in self.db.execute(
            "SELECT query_id, representative, reason, similarity FROM duplicates"
            " ORDER BY representative, similarity DESC, query_id"
        ):
            groups.setdefault(r[1], []).append(Duplicate(r[0], r[1], r[2], r[3]))
        return dict(sorted(groups.items(), key=lambda item: (-len(item[1]), item[0])))

    def replace_clusters(
        self,
        assignments: Iterable[tuple[str, int, float]],
        labels: dict[int, tuple[str, list[str]]],
        coordinates: Iterable[tuple[str, float, float]],
    ) -> None:
        """Replace clusters, their labels and the map (call inside the cluster transaction)."""
        with self.transaction() as db:
            db.execute("DELETE FROM clusters")
            db.execute("DELETE FROM cluster_labels")
            db.execute("DELETE FROM map_coordinates")
            db.executemany(
                "INSERT INTO clusters (query_id, cluster, distance) VALUES (?, ?, ?)",
                list(assignments),
            )
            db.executemany(
                "INSERT INTO cluster_labels (cluster, label, terms) VALUES (?, ?, ?)",
                [(c, label, json.dumps(terms)) for c, (label, terms) in sorted(labels.items())],
            )
            db.executemany(
                "INSERT INTO map_coordinates (query_id, x, y) VALUES (?, ?, ?)", list(coordinates)
            )

    def replace_cluster_labels(self, labels: dict[int, tuple[str, list[str]]]) -> None:
        """Replace only the labels (they are recomputable without re-clustering)."""
        with self.transaction() as db:
            db.execute("DELETE FROM cluster_labels")
            db.executemany(
                "INSERT INTO cluster_labels (cluster, label, terms) VALUES (?, ?, ?)",
                [(c, label, json.dumps(terms)) for c, (label, terms) in sorted(labels.items())],
            )

    def clusters(self) -> dict[str, tuple[int, float]]:
        """query id → (cluster id, cosine distance to the cluster's centroid)."""
        return {
            r[0]: (r[1], r[2])
            for r in self.db.execute("SELECT query_id, cluster, distance FROM clusters")
        }

    def cluster_labels(self) -> dict[int, str]:
        return {
            r[0]: r[1]
            for r in self.db.execute("SELECT cluster, label FROM cluster_labels ORDER BY cluster")
        }

    def cluster_members(self, cluster: int) -> list[tuple[str, float]]:
        """(query id, distance) of one cluster's members, nearest the centroid first."""
        return [
            (r[0], r[1])
            for r in self.db.execute(
                "SELECT query_id, distance FROM clusters WHERE cluster = ?"
                " ORDER BY distance, query_id",
                (cluster,),
            )
        ]

    def map_coordinates(self) -> dict[str, tuple[float, float]]:
        """query id → (x, y) on the 2-D map, for every embedded query (duplicates too)."""
        rows = self.db.execute("SELECT query_id, x, y FROM map_coordinates")
        return {r[0]: (r[1], r[2]) for r in rows}
