"""The sparse k-nearest-neighbour graph facility location runs on (faiss), and the
coverage bookkeeping over it."""

from __future__ import annotations

import math
from typing import Any

import faiss
import numpy as np

DEFAULT_NEIGHBOURS = 256
# Up to this many candidates the k-NN graph comes from an exact search; above it, from
# an IVF index (approximate, ~20x faster at 100k; see benchmarks/bench_select.py).
EXACT_LIMIT = 20_000
NPROBE = 16
# Above this many candidates facility location estimates coverage on a sample instead
# (`[select] sample_above`, selection/sampled.py): the graph of 100k took 25 s and 1 GB.
SAMPLE_ABOVE = 100_000


def knn_graph(
    vectors: np.ndarray, neighbours: int = DEFAULT_NEIGHBOURS, *, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Each row's `neighbours` nearest rows by cosine, itself included: (indices, sims).

    `vectors` must be L2-normalized. Exact search up to EXACT_LIMIT rows, else an IVF
    index probing NPROBE of ~4*sqrt(n) cells (neighbours of a good facility share its
    cell, so recall of the close ones, which carry the coverage, stays high).
    """
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    n, dim = vectors.shape
    m = max(1, min(neighbours, n))
    if n <= EXACT_LIMIT:
        index: Any = faiss.IndexFlatIP(dim)
    else:
        nlist = int(2 ** round(math.log2(4 * math.sqrt(n))))
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
        index.cp.seed = seed
        index.cp.niter = 10
        index.cp.min_points_per_centroid = 1
        sample = np.random.default_rng(seed).choice(n, size=min(n, nlist * 30), replace=False)
        index.train(vectors[np.sort(sample)])
        index.nprobe = NPROBE
    index.add(vectors)
    sims, indices = index.search(vectors, m)
    rows = np.arange(n)
    # Every item covers itself fully, even if an approximate search missed it.
    has_self = (indices == rows[:, None]).any(axis=1)
    indices[~has_self, -1] = rows[~has_self]
    sims[~has_self, -1] = 1.0
    sims[indices == rows[:, None]] = 1.0
    indices[indices < 0] = rows[np.nonzero(indices < 0)[0]]
    return indices.astype(np.int32), np.clip(sims, 0.0, 1.0).astype(np.float32)


class CoverGraph:
    """Facility j covers its own nearest neighbours: row j of the k-NN graph.

    (Using j's own list rather than the items that list j keeps every facility's reach
    the same size and its initial gain the sum of its m best similarities: no sort of
    n * m edges, and no bias toward hubs.)
    """

    def __init__(self, indices: np.ndarray, sims: np.ndarray) -> None:
        n, m = indices.shape
        self.clients = np.ascontiguousarray(indices, dtype=np.int32).ravel()
        self.sims = np.ascontiguousarray(sims, dtype=np.float32).ravel()
        self.offsets = np.arange(n + 1, dtype=np.int64) * m
        self.n = n

    def gain(self, j: int, cover: np.ndarray) -> float:
        a, b = self.offsets[j], self.offsets[j + 1]
        return float(np.maximum(self.sims[a:b] - cover[self.clients[a:b]], 0.0).sum())

    def add(self, j: int, cover: np.ndarray) -> None:
        a, b = self.offsets[j], self.offsets[j + 1]
        clients = self.clients[a:b]
        cover[clients] = np.maximum(cover[clients], self.sims[a:b])

    def upper_bounds(self) -> np.ndarray:
        """Each facility's gain on an empty set (a valid bound for every later gain)."""
        sums = self.sims.reshape(self.n, -1).sum(axis=1, dtype=np.float64)
        return sums * (1 + 1e-6) + 1e-9
