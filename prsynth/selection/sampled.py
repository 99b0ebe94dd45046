"""Facility location over more candidates than a k-NN graph of all of them allows
(docs/architecture.md "Selection at scale").

The objective stays the one of `methods.py`, F(S) = mean over all n candidates of their
best cosine to S plus the quality term, but its coverage term is estimated on a seeded
uniform sample of `sample` candidates (the clients): an unbiased estimate whose error
shrinks as 1/sqrt(sample), whatever n is. The facilities a first greedy round may take
are FACILITIES of the clients (half of them the best rows by quality instead when
quality counts) plus, so that caps and pins stay satisfiable, every pinned item and up
to min(cap, k) seeded random members of every capped group (repository, cluster, task
type); a second round adds the REFINE rows most similar to each first-round pick. Each
facility covers its `neighbours` nearest clients (exact search), and the same lazy
greedy as the full method picks among them with the same caps, pins, quality bonus and
seeded tie order. Time and memory grow with sample * neighbours plus
one pass of the rows taken (read by index, so float16 or memory-mapped vectors are
never converted whole); nothing is n x anything but the labels.
"""

from __future__ import annotations

import faiss
import numpy as np

from prsynth.selection.graph import DEFAULT_NEIGHBOURS, CoverGraph
from prsynth.selection.methods import Constraints, Pick, check_request, greedy_cover

# Clients the coverage term is estimated on, and the rows the first greedy round may
# pick from (a random subset of the clients, half of them the best by quality instead
# when quality counts, plus pins and members of capped groups).
SAMPLE = 40_000
FACILITIES = 10_000
# Rows most similar to each first-round pick that join the second round.
REFINE = 64


def _group_members(labels: np.ndarray, limit: int, order: np.ndarray) -> np.ndarray:
    """Up to `limit` members of each group, the first ones in the seeded `order`."""
    ordered = order[np.argsort(labels[order], kind="stable")]
    codes = labels[ordered]
    first = np.searchsorted(codes, codes, side="left")
    return ordered[np.arange(len(codes)) - first < limit]


def _facilities(k: int, clients: np.ndarray, facilities: int, quality: np.ndarray,
                quality_weight: float, constraints: Constraints, rng: np.random.Generator
                ) -> np.ndarray:
    """Clients, the best by quality, pins and enough members of every capped group
    (sorted row numbers)."""
    n = quality.shape[0]
    # With a quality term, a high-quality row near many clients beats an average one
    # beside it: half the facilities are then the best by quality (ties: seeded order).
    by_quality = facilities // 2 if quality_weight > 0 else 0
    random = min(len(clients), facilities - by_quality)
    parts = [rng.choice(clients, size=random, replace=False),
             np.asarray(list(constraints.pinned), dtype=np.int64)]
    if by_quality:
        shuffled = rng.permutation(n)
        parts.append(shuffled[np.argsort(-quality[shuffled], kind="stable")[:by_quality]])
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


def _nearest_rows(vectors: np.ndarray, picks: np.ndarray, per_pick: int,
                  block: int = 65_536) -> np.ndarray:
    """The `per_pick` rows most similar to each picked row, over all n (one blocked pass;
    after the first block only rows above a pick's current `per_pick`-th best are kept)."""
    centres = _rows(vectors, picks).T
    count = len(picks)
    best_rows = [np.zeros(0, dtype=np.int64)] * count
    best_sims = [np.zeros(0, dtype=np.float32)] * count
    cut = np.full(count, -np.inf, dtype=np.float32)
    for start in range(0, vectors.shape[0], block):
        sims = np.asarray(vectors[start:start + block], dtype=np.float32) @ centres
        rows, cols = np.nonzero(sims > cut)
        order = np.argsort(cols, kind="stable")
        rows, cols = rows[order], cols[order]
        bounds = np.searchsorted(cols, np.arange(count + 1))
        for p in range(count):
            mine = rows[bounds[p]:bounds[p + 1]]
            if not len(mine):
                continue
            found = np.concatenate([best_sims[p], sims[mine, p]])
            where = np.concatenate([best_rows[p], mine + start])
            if len(found) > per_pick:
                keep = np.argpartition(-found, per_pick - 1)[:per_pick]
                found, where = found[keep], where[keep]
            best_sims[p], best_rows[p] = found, where
            if len(found) == per_pick:
                cut[p] = found.min()
    return np.unique(np.concatenate(best_rows))


def _cover_lists(vectors: np.ndarray, clients: np.ndarray, index: faiss.Index,
                 rows: np.ndarray, neighbours: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's `neighbours` most similar clients (positions in `clients`) and cosines."""
    sims, found = index.search(_rows(vectors, rows), max(1, min(neighbours, len(clients))))
    # A facility that is itself a client covers itself fully (float16 rows: ~0.999).
    at = np.searchsorted(clients, rows)
    own = (at < len(clients)) & (clients[np.minimum(at, len(clients) - 1)] == rows)
    sims[(found == at[:, None]) & own[:, None]] = 1.0
    return found, np.clip(sims, 0.0, 1.0, out=sims)


def _greedy(pool: np.ndarray, found: np.ndarray, sims: np.ndarray, clients: int,
            quality: np.ndarray, k: int, constraints: Constraints, quality_weight: float,
            seed: int) -> list[Pick]:
    position = {int(row): i for i, row in enumerate(pool)}
    local = Constraints(
        repos=_subset(constraints.repos, pool), clusters=_subset(constraints.clusters, pool),
        per_repo_cap=constraints.per_repo_cap, per_cluster_cap=constraints.per_cluster_cap,
        pinned=[position[int(p)] for p in constraints.pinned],
        task_types=_subset(constraints.task_types, pool),
        task_type_caps=constraints.task_type_caps,
    )
    picks = greedy_cover(CoverGraph(found, sims), clients, quality[pool], k,
                         constraints=local, quality_weight=quality_weight, seed=seed)
    return [Pick(int(pool[p.index]), p.why) for p in picks]


def sampled_facility_location(
    vectors: np.ndarray, quality: np.ndarray, k: int, *,
    constraints: Constraints = Constraints(), quality_weight: float = 1.0, seed: int = 0,
    neighbours: int = DEFAULT_NEIGHBOURS, sample: int = SAMPLE, facilities: int = FACILITIES,
    refine: int = REFINE,
) -> list[Pick]:
    """Facility location with the coverage term estimated on `sample` seeded clients;
    returns `Pick`s with row numbers into `vectors` (deterministic for a seed).

    Two greedy rounds: the first over the sampled facilities; the second adds, for each
    pick, the `refine` rows of all n most similar to it (a better-placed member of the
    same group is often outside the sample) and runs greedy again over both.
    """
    quality = np.asarray(quality, dtype=np.float64)
    n = quality.shape[0]
    check_request(n, k, constraints)
    rng = np.random.default_rng(seed)
    clients = np.sort(rng.choice(n, size=min(n, sample), replace=False))
    pool = _facilities(k, clients, facilities, quality, quality_weight, constraints, rng)
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(_rows(vectors, clients))
    found, sims = _cover_lists(vectors, clients, index, pool, neighbours)
    args = (len(clients), quality, k, constraints, quality_weight, seed)
    picks = _greedy(pool, found, sims, *args)
    if refine > 0:
        near = _nearest_rows(vectors, np.array([p.index for p in picks]), refine)
        extra = np.setdiff1d(near, pool)
        if len(extra):
            more_found, more_sims = _cover_lists(vectors, clients, index, extra, neighbours)
            rows = np.concatenate([pool, extra])
            order = np.argsort(rows, kind="stable")
            pool = rows[order]
            found = np.concatenate([found, more_found])[order]
            sims = np.concatenate([sims, more_sims])[order]
            picks = _greedy(pool, found, sims, *args)
    return [Pick(p.index, {**p.why, "sampled": len(clients)}) for p in picks]
