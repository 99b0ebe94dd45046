"""Tables `duplicates`, `clusters`, `cluster_labels` and `map_coordinates`: what dedupe
and cluster found."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from prsynth.store.core import StoreCore


@dataclass(frozen=True)
class Duplicate:
    """One duplicate query and why it belongs to its representative's group."""

    query_id: str
    representative: str
    reason: str  # exact | same_change | near
    similarity: float


class ClusterTables(StoreCore):
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
