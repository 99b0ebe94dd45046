"""Facility location over more candidates than a k-NN graph of all of them allows
(docs/architecture.md "Selection at scale").

The objective stays the one of `methods.py`, F(S) = mean over all n candidates of their
best cosine to S plus the quality term, but its coverage term is estimated on a seeded
uniform sample of `sample` candidates (the clients): an unbiased estimate whose error
shrinks as 1/sqrt(sample), whatever n is. The facilities a greedy step may take are the
clients themselves plus, so that caps and pins stay satisfiable, every pinned item and
up to min(cap, k) seeded random members of every capped group (repository, cluster,
task type). Each facility covers its `neighbours` nearest clients (exact search), and
the same lazy greedy as the full method picks among them with the same caps, pins,
quality bonus and seeded tie order. Time and memory grow with sample * neighbours plus
one pass of the rows taken (read by index, so float16 or memory-mapped vectors are
never converted whole); nothing is n x anything but the labels.
"""

from __future__ import annotations

import faiss
import numpy as np

from prsynth.selection.graph import DEFAULT_NEIGHBOURS, CoverGraph
from prsynth.selection.methods import Constraints, Pick, check_request, greedy_cover

# Clients the coverage term is estimated on (the facilities: up to about twice as many).
SAMPLE = 20_000


def _group_members(labels: np.ndarray, limit: int, order: np.ndarray) -> np.ndarray:
    """Up to `limit` members of each group, the first ones in the seeded `order`."""
    ordered = order[np.argsort(labels[order], kind="stable")]
    codes = labels[ordered]
    first = np.searchsorted(codes, codes, side="left")
    return ordered[np.arange(len(codes)) - first < limit]


def _facilities(k: int, clients: np.ndarray, quality: np.ndarray, quality_weight: float,
                constraints: Constraints, rng: np.random.Generator) -> np.ndarray:
    """Clients, the best by quality, pins and enough members of every capped group
    (sorted row numbers)."""
    n = quality.shape[0]
    parts = [clients, np.asarray(list(constraints.pinned), dtype=np.int64)]
    if quality_weight > 0:
        # A high-quality row near many clients beats an average one beside it: let the
        # best `len(clients)` by quality compete too (ties: seeded order).
        shuffled = rng.permutation(n)
        best = np.argsort(-quality[shuffled], kind="stable")[:len(clients)]
        parts.append(shuffled[best])
    capped = [(constraints.repos, constraints.per_repo_cap),
              (constraints.clusters, constraints.per_cluster_cap)]
    if constraints.task_types is not None and constraints.task_type_caps:
        capped.append((constraints.task_types, max(constraints.task_type_caps.values())))
    order = rng.permutation(n)
    for labels, cap in capped:
        if cap and labels is not None:
            parts.append(_group_members(np.asarray(labels), min(int(cap), k), order))
    return np.unique(np.concatenate(parts).astype(np.int64))


def _rows(vectors: np.ndarray, rows: np.ndarray, block: int = 65_536) -> np.ndarray:
    out = np.empty((len(rows), vectors.shape[1]), dtype=np.float32)
    for start in range(0, len(rows), block):
        out[start:start + block] = vectors[rows[start:start + block]]
    return out


def _subset(labels: object, rows: np.ndarray) -> np.ndarray | None:
    return None if labels is None else np.asarray(labels)[rows]


def sampled_facility_location(
    vectors: np.ndarray, quality: np.ndarray, k: int, *,
    constraints: Constraints = Constraints(), quality_weight: float = 1.0, seed: int = 0,
    neighbours: int = DEFAULT_NEIGHBOURS, sample: int = SAMPLE,
) -> list[Pick]:
    """Facility location with the coverage term estimated on `sample` seeded clients;
    returns `Pick`s with row numbers into `vectors` (deterministic for a seed)."""
    quality = np.asarray(quality, dtype=np.float64)
    n = quality.shape[0]
    check_request(n, k, constraints)
    rng = np.random.default_rng(seed)
    clients = np.sort(rng.choice(n, size=min(n, sample), replace=False))
    pool = _facilities(k, clients, quality, quality_weight, constraints, rng)
    pool_vectors = _rows(vectors, pool)
    client_vectors = pool_vectors[np.searchsorted(pool, clients)]
    index = faiss.IndexFlatIP(pool_vectors.shape[1])
    index.add(client_vectors)
    sims, found = index.search(pool_vectors, max(1, min(neighbours, len(clients))))
    del index, client_vectors, pool_vectors
    # A facility that is itself a client covers itself fully (float16 rows: ~0.999).
    at = np.searchsorted(clients, pool)
    own = (at < len(clients)) & (clients[np.minimum(at, len(clients) - 1)] == pool)
    sims[(found == at[:, None]) & own[:, None]] = 1.0
    cover_graph = CoverGraph(found, np.clip(sims, 0.0, 1.0, out=sims))
    del found, sims
    position = {int(row): i for i, row in enumerate(pool)}
    local = Constraints(
        repos=_subset(constraints.repos, pool), clusters=_subset(constraints.clusters, pool),
        per_repo_cap=constraints.per_repo_cap, per_cluster_cap=constraints.per_cluster_cap,
        pinned=[position[int(p)] for p in constraints.pinned],
        task_types=_subset(constraints.task_types, pool),
        task_type_caps=constraints.task_type_caps,
    )
    picks = greedy_cover(cover_graph, len(clients), quality[pool], k, constraints=local,
                         quality_weight=quality_weight, seed=seed)
    return [Pick(int(pool[p.index]), {**p.why, "sampled": len(clients)}) for p in picks]
