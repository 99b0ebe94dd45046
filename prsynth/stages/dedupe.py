"""Duplicate groups: exact texts, PRs carrying the same change, and near-duplicate queries.

Nothing is deleted: every duplicate is recorded with its group's representative and the
reason, so `prsynth dupes` can show the decision and later stages skip the duplicates.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any

import faiss
import numpy as np

from prsynth.config import Config
from prsynth.errors import ConfigError, MissingStageError
from prsynth.progress import Progress
from prsynth.stages.embed import check_vectors
from prsynth.store import Store, fingerprint, text_hash
from prsynth.store.clusters import Duplicate
from prsynth.store.queries import QuerySource

log = logging.getLogger(__name__)

# Below this many vectors an exact range search (IndexFlatIP) is fast enough: ~1 s for
# 20k x 20k x 384 on two cores. Above it, an inverted-file index answers the same range
# query approximately (see `near_duplicate_pairs`).
EXACT_LIMIT = 20_000
NPROBE = 8


def validate_threshold(threshold: float) -> float:
    if not (isinstance(threshold, (int, float)) and math.isfinite(threshold)
            and 0 < threshold <= 1):
        raise ConfigError(
            f"near-duplicate threshold {threshold!r} must be a cosine similarity in (0, 1]; "
            "e.g. --threshold 0.92"
        )
    return float(threshold)


def normalized_text(text: str) -> str:
    """Case and whitespace folded: the key of exact duplicates."""
    return " ".join(text.casefold().split())


def near_duplicate_pairs(
    vectors: np.ndarray, threshold: float, *, seed: int = 0
) -> np.ndarray:
    """All pairs (i, j, cosine) with i < j and cosine ≥ `threshold`, as an (m, 3) array.

    `vectors` must be L2-normalized float32 rows. Small sets get an exact range search.
    Large ones use an IVF index (faiss IndexIVFFlat, inner product) searched with the
    same radius: each vector scans only the `NPROBE` cells whose centroids are nearest
    to it. A near-duplicate pair (cosine ≥ 0.9) is nearly parallel, so both vectors
    rank the same few centroids on top; probing 8 of 2048 cells finds such pairs with
    recall above 0.99 on 200k random 384-d vectors, ~10x faster than exact blocked
    brute force (benchmarks/bench_vectors.py). Random data is the hardest case: it has
    no cluster structure to keep near-duplicates in one cell. Each pair is
    searched from both ends, so it is missed only when both searches miss it. HNSW was
    not chosen: on unstructured high-dimensional data its greedy graph walk loses the
    lone close neighbour, and its build alone takes longer than this whole search.
    """
    threshold = validate_threshold(threshold)
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    n = vectors.shape[0]
    if n < 2:
        return np.zeros((0, 3), dtype=np.float64)
    dim = vectors.shape[1]
    if n <= EXACT_LIMIT:
        index: Any = faiss.IndexFlatIP(dim)
        index.add(vectors)
    else:
        # ~4.5 * sqrt(n) cells (2048 for 200k): lists of ~100 vectors, so probing 8 cells
        # scans 0.4% of the set per query.
        nlist = int(2 ** round(math.log2(4.5 * math.sqrt(n))))
        quantizer = faiss.IndexFlatIP(dim)
        index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
        index.cp.seed = seed
        # Coarse centroids only route the search; 5 iterations on 20 points per cell
        # route as well as a fully converged k-means at a fraction of the training time.
        index.cp.niter = 5
        index.cp.min_points_per_centroid = 1
        rng = np.random.default_rng(seed)
        sample = rng.choice(n, size=min(n, nlist * 20), replace=False)
        index.train(vectors[np.sort(sample)])
        index.add(vectors)
        index.nprobe = NPROBE
    # Range search keeps scores ≥ radius; float rounding can put an exact duplicate at
    # 0.9999999, so the radius sits a hair below the threshold and pairs are re-checked.
    limits, scores, neighbours = index.range_search(vectors, threshold - 1e-6)
    rows = np.repeat(np.arange(n), np.diff(limits.astype(np.int64)))
    keep = (neighbours != rows) & (neighbours >= 0)
    first = np.minimum(rows[keep], neighbours[keep])
    second = np.maximum(rows[keep], neighbours[keep])
    if first.size == 0:
        return np.zeros((0, 3), dtype=np.float64)
    pairs = np.unique(np.stack([first, second], axis=1), axis=0)
    cosines = np.einsum("ij,ij->i", vectors[pairs[:, 0]], vectors[pairs[:, 1]])
    cosines = np.minimum(cosines, 1.0)
    ok = cosines >= threshold - 1e-6
    return np.column_stack([pairs[ok].astype(np.float64), cosines[ok].astype(np.float64)])


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


@dataclass
class DedupeReport:
    queries: int
    groups: int
    duplicates: int
    reasons: dict[str, int] = field(default_factory=dict)
    threshold: float = 0.0
    model: str = ""

    def summary(self) -> str:
        why = ", ".join(f"{n} {r}" for r, n in sorted(self.reasons.items())) or "none"
        return (
            f"{self.duplicates} of {self.queries} queries are duplicates in {self.groups} groups "
            f"({why}); near-duplicate threshold {self.threshold}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "queries": self.queries, "groups": self.groups, "duplicates": self.duplicates,
            "reasons": dict(sorted(self.reasons.items())), "threshold": self.threshold,
            "model": self.model,
        }


@dataclass
class DedupeStage:
    """Duplicate groups under `[dedupe] threshold`, over `[embed] model`'s vectors."""

    name: str = "dedupe"
    reads: tuple[str, ...] = ("embed", "score")
    requires: tuple[str, ...] = ()  # vectors are checked below; scores are optional

    def fingerprint(self, store: Store, config: Config) -> str:
        """Texts, PR changes, merge dates, the model and the threshold."""
        inputs = sorted(
            (s.query_id, text_hash(s.text), s.pr_id, s.diff_hash, s.merged_at, s.created_at)
            for s in store.query_sources()
        )
        return fingerprint(config.dedupe.threshold, config.embed.vector_model, fingerprint(inputs))

    def run(self, store: Store, config: Config, progress: Progress) -> DedupeReport:
        """Group duplicate queries and record each group under its representative.

        The representative is the best-scored member when scores are stored, else the
        one whose PR merged first (the original, not the backport), then the oldest query.
        """
        threshold = validate_threshold(config.dedupe.threshold)
        model = config.embed.vector_model
        sources = store.query_sources()
        ids, vectors = store.query_vectors(model)
        if ids != [s.query_id for s in sources]:
            missing = len(sources) - len(ids)
            raise MissingStageError(
                f"{missing} queries have no {model} vector; run `prsynth embed` first "
                "(dedupe uses the [embed] model of the config)"
            )
        check_vectors(vectors, f"stored {model} vectors")

        groups = _UnionFind(len(sources))
        by_text: dict[str, int] = {}
        for i, source in enumerate(sources):
            groups.union(i, by_text.setdefault(normalized_text(source.text), i))
        by_change: dict[str, int] = {}
        for i, source in enumerate(sources):
            if source.diff_hash:
                first = by_change.setdefault(source.diff_hash, i)
                if sources[first].pr_id != source.pr_id:
                    groups.union(i, first)
        progress(self.name, 1, 3)
        for i, j, _ in near_duplicate_pairs(vectors, threshold):
            groups.union(int(i), int(j))
        progress(self.name, 2, 3)

        scores = store.query_scores()
        members: dict[int, list[int]] = {}
        for i in range(len(sources)):
            members.setdefault(groups.find(i), []).append(i)
        duplicates: list[Duplicate] = []
        for group in members.values():
            if len(group) < 2:
                continue
            rep = min(group, key=lambda i: _representative_rank(sources[i], scores))
            for i in group:
                if i != rep:
                    duplicates.append(Duplicate(
                        query_id=sources[i].query_id,
                        representative=sources[rep].query_id,
                        reason=_reason(sources[i], sources[rep]),
                        similarity=round(float(vectors[i] @ vectors[rep]), 6),
                    ))
        reasons: dict[str, int] = {}
        for duplicate in duplicates:
            reasons[duplicate.reason] = reasons.get(duplicate.reason, 0) + 1
        store.replace_duplicates(duplicates)
        progress(self.name, 3, 3)
        return DedupeReport(
            queries=len(sources), groups=sum(1 for g in members.values() if len(g) > 1),
            duplicates=len(duplicates), reasons=reasons, threshold=threshold, model=model,
        )


def _representative_rank(source: QuerySource, scores: dict[str, float]) -> tuple:
    score = scores.get(source.query_id)
    return (
        -score if score is not None else math.inf,
        source.merged_at or "~", source.created_at, source.query_id,
    )


def _reason(member: QuerySource, representative: QuerySource) -> str:
    if normalized_text(member.text) == normalized_text(representative.text):
        return "exact"
    if member.diff_hash and member.diff_hash == representative.diff_hash:
        return "same_change"
    return "near"
