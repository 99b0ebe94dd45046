"""Spherical k-means over the non-duplicate queries, c-TF-IDF labels and a 2-D map.

The algorithm functions (`spherical_kmeans`, `ctfidf_labels`, `pca_2d`) are pure and
seeded, so tests and benchmarks call them on arrays; `ClusterStage` reads the store,
runs them and writes the result in one transaction.
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import faiss
import numpy as np

from prsynth.config import Config
from prsynth.errors import ConfigError
from prsynth.progress import Progress
from prsynth.stages.embed import check_vectors
from prsynth.store import Store, fingerprint

log = logging.getLogger(__name__)

MAX_AUTO_K = 300
WORD = re.compile(r"[a-z][a-z0-9_]*(?:[.-][a-z0-9_]+)*")
# Function words and the politeness every request shares: they never tell clusters apart.
STOPWORDS = frozenset(
    """a about above after again all also am an and any are as at be because been before
    being below between both but by can could did do does doing done down during each few
    for from further get gets got had has have having he her here hers him his how i if in
    into is it its itself just let lets me more most my no nor not now of off on once only
    or other our out over own please same she should so some such than that the their them
    then there these they this those through to too under until up us very was we were what
    when where which while who whom why will with would you your yours make makes need needs
    want wants like thanks thank currently right also instead already able using use used
    one way new something sure still""".split()
)


def auto_k(n: int) -> int:
    """The `--k auto` rule: round(sqrt(n / 2)), at least 1, at most 300 and at most n.

    sqrt(n/2) is the classic rule of thumb for k-means; it gives ~7 clusters for 100
    requests, ~22 for 1,000 and ~71 for 10,000, each small enough to read.
    """
    if n <= 0:
        return 0
    return max(1, min(MAX_AUTO_K, n, round(math.sqrt(n / 2))))


def resolve_k(k: str | int, n: int) -> int:
    """Turn `--k` ("auto" or a positive number) into a cluster count valid for `n` items."""
    if isinstance(k, str) and k.strip().lower() == "auto":
        return auto_k(n)
    try:
        count = int(k)
    except (TypeError, ValueError):
        raise ConfigError(f"--k {k!r} must be a positive number or 'auto'") from None
    if count < 1:
        raise ConfigError(f"--k {count} must be at least 1 (or 'auto')")
    if count > n:
        raise ConfigError(
            f"--k {count} asks for more clusters than there are non-duplicate queries ({n}); "
            f"pass --k {max(1, n)} or less, or --k auto"
        )
    return count


def spherical_kmeans(
    vectors: np.ndarray, k: int, seed: int = 0, *, niter: int = 20
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cluster unit vectors by cosine: (assignment per row, unit centroids, 1 - cosine).

    Cluster ids are renumbered by size (0 is the largest, ties by first member), so the
    same inputs and seed always give the same ids; empty clusters are dropped.
    """
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or vectors.shape[0] == 0:
        raise ConfigError("nothing to cluster: no vectors")
    check_vectors(vectors, "clustering input")
    n, dim = vectors.shape
    if not 1 <= k <= n:
        raise ConfigError(f"cannot make {k} clusters from {n} items; use k between 1 and {n}")
    kmeans = faiss.Kmeans(
        dim, k, niter=niter, seed=seed, spherical=True, verbose=False,
        # faiss trains on at most 256 points per centroid (a sample, so 200k items stay
        # fast); min 1 point per centroid silences its warning on small sets.
        max_points_per_centroid=256, min_points_per_centroid=1,
    )
    kmeans.train(vectors)
    similarity, nearest = kmeans.index.search(vectors, 1)
    raw = nearest[:, 0]
    sizes = Counter(raw.tolist())
    first_member = {c: int(np.argmax(raw == c)) for c in sizes}
    order = sorted(sizes, key=lambda c: (-sizes[c], first_member[c]))
    renumber = {old: new for new, old in enumerate(order)}
    assignments = np.array([renumber[c] for c in raw.tolist()], dtype=np.int64)
    centroids = kmeans.centroids[order]
    centroids = centroids / np.linalg.norm(centroids, axis=1, keepdims=True)
    distances = np.clip(1.0 - similarity[:, 0].astype(np.float64), 0.0, 2.0)
    return assignments, centroids.astype(np.float32), distances


def tokenize(text: str) -> list[str]:
    return [w for w in WORD.findall(text.lower()) if len(w) > 2 and w not in STOPWORDS]


def ctfidf_labels(
    texts: Sequence[str], labels: Sequence[int], top_n: int = 3
) -> dict[int, tuple[str, list[str]]]:
    """cluster → (label, top terms) from class-based TF-IDF, as BERTopic does.

    All texts of a cluster form one document; a term's weight is its frequency in that
    document times log(1 + A / its frequency over all clusters), A being the mean number
    of words per cluster. Terms common everywhere ("fix", "test") sink; terms that mark
    one cluster rise, which plain frequency would not do.
    """
    per_cluster: dict[int, Counter[str]] = {}
    for text, label in zip(texts, labels, strict=True):
        per_cluster.setdefault(int(label), Counter()).update(tokenize(text))
    overall: Counter[str] = Counter()
    for counts in per_cluster.values():
        overall.update(counts)
    total_words = sum(overall.values())
    mean_words = total_words / max(1, len(per_cluster))
    result: dict[int, tuple[str, list[str]]] = {}
    for cluster, counts in sorted(per_cluster.items()):
        size = sum(counts.values()) or 1
        weights = {
            term: (count / size) * math.log(1 + mean_words / overall[term])
            for term, count in counts.items()
        }
        terms = [t for t, _ in sorted(weights.items(), key=lambda tw: (-tw[1], tw[0]))[:top_n]]
        result[cluster] = (" / ".join(terms) if terms else f"cluster {cluster}", terms)
    return result


def pca_2d(vectors: np.ndarray) -> np.ndarray:
    """The first two principal components of the rows, with signs fixed so runs agree."""
    vectors = np.asarray(vectors, dtype=np.float64)
    n = vectors.shape[0]
    if n == 0:
        return np.zeros((0, 2))
    centered = vectors - vectors.mean(axis=0)
    covariance = centered.T @ centered / max(1, n - 1)
    values, axes = np.linalg.eigh(covariance)
    axes = axes[:, np.argsort(values)[::-1][:2]]
    if axes.shape[1] < 2:
        axes = np.pad(axes, ((0, 0), (0, 2 - axes.shape[1])))
    signs = np.sign(axes[np.argmax(np.abs(axes), axis=0), [0, 1]])
    signs[signs == 0] = 1
    return centered @ (axes * signs)


@dataclass
class ClusterReport:
    queries: int
    clustered: int
    duplicates: int
    k: int
    seed: int
    sizes: dict[int, int]
    labels: dict[int, str]
    model: str

    def summary(self) -> str:
        return (
            f"{self.clustered} non-duplicate queries in {len(self.sizes)} clusters "
            f"(k={self.k}, seed {self.seed}); {self.duplicates} duplicates placed on the map only"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "queries": self.queries, "clustered": self.clustered, "duplicates": self.duplicates,
            "k": self.k, "seed": self.seed, "model": self.model,
            "clusters": [
                {"cluster": c, "size": self.sizes[c], "label": self.labels.get(c, "")}
                for c in sorted(self.sizes)
            ],
        }


@dataclass
class ClusterStage:
    """Spherical k-means over the non-duplicate queries, labels and the 2-D map."""

    name: str = "cluster"
    reads: tuple[str, ...] = ("dedupe",)
    requires: tuple[str, ...] = ("dedupe",)

    def fingerprint(self, store: Store, config: Config) -> str:
        """k and the seed; the queries and vectors come in through dedupe's fingerprint."""
        return fingerprint(str(config.cluster.k).strip().lower(), config.cluster.seed)

    def run(self, store: Store, config: Config, progress: Progress) -> ClusterReport:
        """Cluster the non-duplicate queries; store clusters, labels and map coordinates."""
        model, seed = config.embed.vector_model, config.cluster.seed
        ids, vectors = store.query_vectors(model)
        check_vectors(vectors, f"stored {model} vectors")
        duplicates = store.duplicate_query_ids()
        keep = np.array([query_id not in duplicates for query_id in ids], dtype=bool)
        kept_ids = [query_id for query_id, kept in zip(ids, keep, strict=True) if kept]
        count = resolve_k(config.cluster.k, len(kept_ids))
        progress(self.name, 0, 3)
        assignments, _, distances = spherical_kmeans(vectors[keep], count, seed)
        progress(self.name, 1, 3)
        texts = {s.query_id: s.text for s in store.query_sources()}
        labels = ctfidf_labels([texts[q] for q in kept_ids], assignments.tolist())
        coordinates = pca_2d(vectors)
        progress(self.name, 2, 3)
        sizes = Counter(assignments.tolist())
        store.replace_clusters(
            [
                (q, int(c), round(float(d), 6))
                for q, c, d in zip(kept_ids, assignments, distances, strict=True)
            ],
            labels,
            [
                (q, round(float(x), 6), round(float(y), 6))
                for q, (x, y) in zip(ids, coordinates, strict=True)
            ],
        )
        progress(self.name, 3, 3)
        return ClusterReport(
            queries=len(ids), clustered=len(kept_ids), duplicates=int((~keep).sum()), k=count,
            seed=seed, sizes=dict(sorted(sizes.items())),
            labels={c: label for c, (label, _) in labels.items()}, model=model,
        )


def relabel_clusters(store: Store, top_n: int = 3) -> dict[int, str]:
    """Recompute the c-TF-IDF labels from the stored clusters, without re-clustering."""
    assignments = store.clusters()
    texts = {s.query_id: s.text for s in store.query_sources()}
    ids = sorted(assignments)
    labels = ctfidf_labels([texts[q] for q in ids], [assignments[q][0] for q in ids], top_n)
    store.replace_cluster_labels(labels)
    return {c: label for c, (label, _) in labels.items()}
