"""Selection methods: pure, seeded functions over arrays that pick k diverse, good items.

`facility_location` (the default) maximizes quality-weighted coverage

    F(S) = (1/n) * sum_i max_{j in S} sim(i, j)  +  quality_weight * (1/k) * sum_{j in S} q_j

by lazy greedy over a sparse k-nearest-neighbour graph built with faiss: item j covers
only its `neighbours` nearest items (similarities beyond count as 0), so memory and
time grow with n * m, never n * n. F is monotone submodular, so a gain never grows as
the set grows; lazy greedy re-evaluates only the candidate on top of a heap of stale gains and picks
exactly what plain greedy would (ties broken by a seeded random order).
`mmr`, `k_center` and `random_choice` are the usual alternatives.

Every method honours the same constraints: pinned items first, at most `per_repo_cap`
items of one repository and `per_cluster_cap` of one cluster (0: no cap).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from prsynth.errors import ConfigError
from prsynth.selection.graph import DEFAULT_NEIGHBOURS, SAMPLE_ABOVE, CoverGraph, knn_graph

METHODS = ("facility", "mmr", "kcenter", "random")


class SelectionError(ConfigError):
    """The constraints make k items impossible (caps, pins, too few candidates)."""


@dataclass
class Pick:
    """One chosen item (a row index) and the gains that won it."""

    index: int
    why: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Constraints:
    """Per-item groups and caps shared by every method (0: no cap)."""

    repos: Sequence[int] | None = None
    clusters: Sequence[int] | None = None
    per_repo_cap: int = 0
    per_cluster_cap: int = 0
    pinned: Sequence[int] = ()
    # Task-type quotas: a group code per item and the most items each group may have.
    task_types: Sequence[int] | None = None
    task_type_caps: Mapping[int, int] = field(default_factory=dict)


class _Caps:
    """Counts per group; `blocked` marks every item whose repository, cluster or task-type
    group is full."""

    def __init__(self, constraints: Constraints, n: int) -> None:
        self.groups: list[tuple[np.ndarray, Callable[[int], int], dict]] = []
        self.blocked = np.zeros(n, dtype=bool)
        for labels, cap, what in (
            (constraints.repos, constraints.per_repo_cap, "repository"),
            (constraints.clusters, constraints.per_cluster_cap, "cluster"),
        ):
            if cap and labels is not None:
                self._add(labels, lambda _code, cap=cap: cap, n, what)
        if constraints.task_type_caps and constraints.task_types is not None:
            caps = dict(constraints.task_type_caps)
            self._add(constraints.task_types, lambda code: caps.get(int(code), n), n, "task type")

    def _add(self, labels: Sequence[int], cap: Callable[[int], int], n: int, what: str) -> None:
        codes = np.asarray(labels)
        if codes.shape[0] != n:
            raise ValueError(f"{what} labels: {codes.shape[0]} for {n} items")
        self.groups.append((codes, cap, {}))
        for code in np.unique(codes):
            if cap(code) <= 0:
                self.blocked |= codes == code

    def allows(self, j: int) -> bool:
        return not self.blocked[j]

    def take(self, j: int) -> None:
        for codes, cap, counts in self.groups:
            counts[codes[j]] = counts.get(codes[j], 0) + 1
            if counts[codes[j]] >= cap(codes[j]):
                self.blocked |= codes == codes[j]


def check_request(n: int, k: int, constraints: Constraints) -> None:
    """Refuse k values and caps that cannot give k items, with a one-line reason."""
    if k < 1:
        raise SelectionError(f"--k {k} must be at least 1")
    if k > n:
        raise SelectionError(
            f"--k {k} asks for more items than there are candidates ({n}); pass --k {n} or "
            "less, lower --min-quality, or clear some rejections"
        )
    pinned = list(dict.fromkeys(int(p) for p in constraints.pinned))
    if len(pinned) > k:
        raise SelectionError(
            f"{len(pinned)} pinned items do not fit in --k {k}; raise --k or unpin some"
        )
    for labels, cap, flag in (
        (constraints.repos, constraints.per_repo_cap, "--per-repo-cap"),
        (constraints.clusters, constraints.per_cluster_cap, "--per-cluster-cap"),
    ):
        if cap < 0:
            raise SelectionError(f"{flag} {cap} must be 0 (no cap) or more")
        if cap and labels is not None:
            sizes = np.unique(np.asarray(labels), return_counts=True)[1]
            possible = int(np.minimum(sizes, cap).sum())
            if possible < k:
                raise SelectionError(
                    f"{flag} {cap} allows at most {possible} items over {len(sizes)} groups, "
                    f"fewer than --k {k}; raise the cap or lower --k"
                )
    if constraints.task_type_caps and constraints.task_types is not None:
        codes, sizes = np.unique(np.asarray(constraints.task_types), return_counts=True)
        possible = sum(min(int(size), constraints.task_type_caps.get(int(code), n))
                       for code, size in zip(codes, sizes, strict=True))
        if possible < k:
            raise SelectionError(
                f"the task-type quotas allow at most {possible} items from these candidates, "
                f"fewer than --k {k}; change --quota or lower --k"
            )


def _tie_order(n: int, seed: int) -> np.ndarray:
    """A seeded random rank per item: the tie-breaker, so a seed fixes every choice."""
    order = np.empty(n, dtype=np.int64)
    order[np.random.default_rng(seed).permutation(n)] = np.arange(n)
    return order


def _short(k: int, picked: int, n: int) -> SelectionError:
    return SelectionError(
        f"only {picked} of --k {k} items fit within the caps ({n} candidates); "
        "raise --per-repo-cap / --per-cluster-cap or lower --k"
    )


def facility_location(
    vectors: np.ndarray | None, quality: np.ndarray, k: int, *,
    constraints: Constraints = Constraints(), quality_weight: float = 1.0, seed: int = 0,
    neighbours: int = DEFAULT_NEIGHBOURS, graph: tuple[np.ndarray, np.ndarray] | None = None,
    lazy: bool = True,
) -> list[Pick]:
    """Quality-weighted facility location by (lazy) greedy over a sparse k-NN graph.

    Pass `graph` (from `knn_graph`) to reuse one; `lazy=False` is plain greedy, which
    re-evaluates every candidate at every step (for tests and comparison).
    """
    quality = np.asarray(quality, dtype=np.float64)
    n = quality.shape[0]
    check_request(n, k, constraints)
    indices, sims = graph if graph is not None else knn_graph(vectors, neighbours, seed=seed)
    return greedy_cover(CoverGraph(indices, sims), n, quality, k, constraints=constraints,
                        quality_weight=quality_weight, seed=seed, lazy=lazy)


def greedy_cover(
    cover_graph: CoverGraph, clients: int, quality: np.ndarray, k: int, *,
    constraints: Constraints, quality_weight: float, seed: int, lazy: bool = True,
) -> list[Pick]:
    """Greedy facility location: candidate j (row j of `cover_graph`, `quality[j]`) covers
    its listed clients among `clients` (the candidates themselves, or a sample of them)."""
    n = quality.shape[0]
    cover = np.zeros(clients, dtype=np.float64)
    caps = _Caps(constraints, n)
    tie = _tie_order(n, seed)
    bonus = quality_weight * quality / k
    picks: list[Pick] = []
    chosen = np.zeros(n, dtype=bool)

    def take(j: int, coverage_gain: float, pinned: bool) -> None:
        cover_graph.add(j, cover)
        caps.take(j)
        chosen[j] = True
        why = {"coverage_gain": round(coverage_gain / clients, 6),
               "quality_gain": round(bonus[j], 6)}
        if pinned:
            why["pinned"] = True
        picks.append(Pick(j, why))

    for j in dict.fromkeys(int(p) for p in constraints.pinned):
        take(j, cover_graph.gain(j, cover), True)
    if lazy:
        bounds = cover_graph.upper_bounds() + bonus * clients
        heap = [(-bounds[j], tie[j], j) for j in range(n) if not chosen[j]]
        heapq.heapify(heap)
        while len(picks) < k and heap:
            _, _, j = heapq.heappop(heap)
            if not caps.allows(j):
                continue  # caps only tighten: j can never be taken again
            gain = cover_graph.gain(j, cover) + bonus[j] * clients
            if not heap or (-gain, tie[j]) <= heap[0][:2]:
                take(j, gain - bonus[j] * clients, False)
            else:
                heapq.heappush(heap, (-gain, tie[j], j))
    else:
        while len(picks) < k:
            best = None
            for j in range(n):
                if chosen[j] or not caps.allows(j):
                    continue
                key = (-(cover_graph.gain(j, cover) + bonus[j] * clients), tie[j])
                if best is None or key < best[0]:
                    best = (key, j)
            if best is None:
                break
            take(best[1], -best[0][0] - bonus[best[1]] * clients, False)
    if len(picks) < k:
        raise _short(k, len(picks), n)
    return picks


def sparse_objective(
    graph: tuple[np.ndarray, np.ndarray], quality: np.ndarray, chosen: Sequence[int],
    quality_weight: float = 1.0,
) -> float:
    """F(chosen) on the sparse graph: what `facility_location` maximizes."""
    indices, sims = graph
    in_set = np.zeros(indices.shape[0], dtype=bool)
    in_set[list(chosen)] = True
    covered = np.where(in_set[indices], sims, 0.0).max(axis=1)
    quality = np.asarray(quality, dtype=np.float64)
    return float(covered.sum() / len(covered)
                 + quality_weight * quality[list(chosen)].sum() / len(chosen))


def nearest_picks(vectors: np.ndarray, chosen: Sequence[int], block: int = 65_536
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Each row's most similar chosen item (its position in `chosen`) and that cosine, in
    one exact pass (float16 or memory-mapped rows are read a block at a time)."""
    n = vectors.shape[0]
    nearest = np.zeros(n, dtype=np.int64)
    best = np.zeros(n, dtype=np.float32)
    if not len(chosen):
        return nearest, best
    centres = np.asarray(vectors[list(chosen)], dtype=np.float32).T
    for start in range(0, n, block):
        sims = np.asarray(vectors[start:start + block], dtype=np.float32) @ centres
        nearest[start:start + len(sims)] = np.argmax(sims, axis=1)
        best[start:start + len(sims)] = np.take_along_axis(
            sims, nearest[start:start + len(sims), None], axis=1)[:, 0]
    return nearest, best


def coverage(vectors: np.ndarray, chosen: Sequence[int], block: int = 65_536) -> float:
    """Mean over all rows of the best cosine (clipped at 0) to a chosen row: exact, n x k."""
    return mean_cover(nearest_picks(vectors, chosen, block)[1])


def mean_cover(best: np.ndarray) -> float:
    """`coverage` from each row's best cosine to a pick (`nearest_picks`)."""
    return float(np.clip(best, 0.0, None).sum(dtype=np.float64)) / max(1, len(best))


def facility_objective(
    vectors: np.ndarray, quality: np.ndarray, chosen: Sequence[int], quality_weight: float = 1.0,
) -> float:
    """F(chosen) with exact cosines (no graph): coverage plus the quality term."""
    quality = np.asarray(quality, dtype=np.float64)
    return coverage(vectors, chosen) + quality_weight * float(quality[list(chosen)].mean())


def random_coverage(vectors: np.ndarray, k: int, seed: int = 0, draws: int = 5,
                    rows: int = 100_000) -> float:
    """Mean coverage of `draws` random sets of k rows: the baseline a selection should beat.
    Over more than `rows` rows, each set's coverage is measured on a seeded sample of
    `rows` of them (a baseline needs no more precision than that)."""
    rng = np.random.default_rng(seed)
    n = vectors.shape[0]
    sets = [rng.choice(n, k, replace=False) for _ in range(draws)]
    if n <= rows:
        return float(np.mean([coverage(vectors, chosen) for chosen in sets]))
    sample = np.sort(rng.choice(n, rows, replace=False))
    centres = np.asarray(vectors[np.concatenate(sets)], dtype=np.float32)
    sims = np.asarray(vectors[sample], dtype=np.float32) @ centres.T
    best = np.clip(sims.reshape(rows, draws, k).max(axis=2), 0.0, None)
    return float(best.mean())


def _seeded_start(quality: np.ndarray, tie: np.ndarray, caps: _Caps) -> int | None:
    order = np.lexsort((tie, -quality))
    return next((int(j) for j in order if caps.allows(int(j))), None)


def _greedy_by_score(
    vectors: np.ndarray, quality: np.ndarray, k: int, constraints: Constraints, seed: int,
    score: Any, explain: Any,
) -> list[Pick]:
    """Shared loop of MMR and k-center: keep each row's best cosine to the chosen set and
    take the allowed row with the best `score(quality, nearest)` (ties: seeded order)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    quality = np.asarray(quality, dtype=np.float64)
    n = quality.shape[0]
    check_request(n, k, constraints)
    caps = _Caps(constraints, n)
    tie = _tie_order(n, seed)
    nearest = np.full(n, -1.0)
    chosen = np.zeros(n, dtype=bool)
    picks: list[Pick] = []

    def take(j: int, why: dict[str, Any]) -> None:
        picks.append(Pick(j, why))
        chosen[j] = True
        caps.take(j)
        np.maximum(nearest, vectors @ vectors[j], out=nearest)

    for j in dict.fromkeys(int(p) for p in constraints.pinned):
        take(j, {**explain(quality[j], nearest[j]), "pinned": True})
    while len(picks) < k:
        if not picks:
            j = _seeded_start(quality, tie, caps)
            if j is None:
                break
            take(j, explain(quality[j], nearest[j]))
            continue
        values = score(quality, nearest)
        values = np.where(chosen | caps.blocked, -np.inf, values)
        best = np.flatnonzero(values == values.max())
        if not np.isfinite(values[best[0]]):
            break
        j = int(best[np.argmin(tie[best])])
        take(j, explain(quality[j], nearest[j]))
    if len(picks) < k:
        raise _short(k, len(picks), n)
    return picks


def mmr(
    vectors: np.ndarray, quality: np.ndarray, k: int, *, constraints: Constraints = Constraints(),
    diversity: float = 0.5, seed: int = 0,
) -> list[Pick]:
    """Maximal marginal relevance: (1 - diversity) * quality - diversity * max cosine to the set."""
    return _greedy_by_score(
        vectors, quality, k, constraints, seed,
        lambda q, near: (1 - diversity) * q - diversity * np.maximum(near, 0.0),
        lambda q, near: {"quality": round(float(q), 6),
                         "redundancy": round(max(0.0, float(near)), 6)},
    )


def k_center(
    vectors: np.ndarray, quality: np.ndarray, k: int, *, constraints: Constraints = Constraints(),
    seed: int = 0,
) -> list[Pick]:
    """Greedy k-center: start from the best item, then always the one farthest from the set."""
    return _greedy_by_score(
        vectors, quality, k, constraints, seed,
        lambda q, near: 1.0 - near,
        lambda q, near: {"distance": round(float(min(1.0, 1.0 - near)), 6),
                         "quality": round(float(q), 6)},
    )


def random_choice(
    n: int, k: int, *, constraints: Constraints = Constraints(), seed: int = 0,
    quality: np.ndarray | None = None,
) -> list[Pick]:
    """k items in a seeded random order, pinned first, within the caps."""
    check_request(n, k, constraints)
    caps = _Caps(constraints, n)
    picks: list[Pick] = []
    pinned = list(dict.fromkeys(int(p) for p in constraints.pinned))
    for j in pinned:
        caps.take(j)
        picks.append(Pick(j, {"pinned": True}))
    taken = set(pinned)
    for j in np.random.default_rng(seed).permutation(n).tolist():
        if len(picks) >= k:
            break
        if j not in taken and caps.allows(j):
            caps.take(j)
            picks.append(Pick(j, {"random": True}))
    if len(picks) < k:
        raise _short(k, len(picks), n)
    return picks


def select_diverse(
    method: str, vectors: np.ndarray, quality: np.ndarray, k: int, *,
    constraints: Constraints = Constraints(), seed: int = 0, quality_weight: float = 1.0,
    neighbours: int = DEFAULT_NEIGHBOURS, sample_above: int = SAMPLE_ABOVE,
) -> list[Pick]:
    """Run one of METHODS with shared constraints. Facility location over more than
    `sample_above` candidates (0: never) estimates coverage on a sample (sampled.py)."""
    if method == "facility" and 0 < sample_above < len(quality):
        from prsynth.selection.sampled import sampled_facility_location

        return sampled_facility_location(
            vectors, quality, k, constraints=constraints, quality_weight=quality_weight,
            seed=seed, neighbours=neighbours,
        )
    if method == "facility":
        return facility_location(
            vectors, quality, k, constraints=constraints, quality_weight=quality_weight,
            seed=seed, neighbours=neighbours,
        )
    if method == "mmr":
        return mmr(vectors, quality, k, constraints=constraints, seed=seed)
    if method == "kcenter":
        return k_center(vectors, quality, k, constraints=constraints, seed=seed)
    if method == "random":
        return random_choice(len(quality), k, constraints=constraints, seed=seed)
    raise SelectionError(f"--method {method!r} is unknown; use one of {', '.join(METHODS)}")
